/* Factories and protocols (protocol.h): initialisation, forProtocol, and
 * Twisted's doStart / doStop bookkeeping (numPorts). */
#include <string.h>

#include "internal.h"

df_protocol *df_protocol_init(df_protocol *p, const df_protocol_type *type) {
  if (p) *p = (df_protocol){type, NULL, NULL};
  return p;
}

void df_protocol_free(df_protocol *p) { df__uv_free(p); }

df_factory *df_factory_init(df_factory *f, const df_factory_type *type) {
  if (f) *f = (df_factory){type, NULL, 0};
  return f;
}

df_factory *df_factory_init_for_protocol(df_factory *f,
                                         const df_protocol_type *protocol_type) {
  if (f) *f = (df_factory){NULL, protocol_type, 0};
  return f;
}

df_protocol *df_factory_build_protocol(df_factory *f, const df_address *peer) {
  if (!f) return NULL;
  df_protocol *p = NULL;
  if (f->type && f->type->build_protocol) {
    p = f->type->build_protocol(f, peer);
  } else if (f->protocol_type) {
    size_t size = f->protocol_type->size;
    if (size < sizeof(df_protocol)) size = sizeof(df_protocol);
    /* The library's allocation (df_protocol_free releases it), so that
     * the out-of-memory tests reach it. */
    p = df__uv_calloc(1, size);
    if (p) p->type = f->protocol_type;
  }
  if (p && !p->type) {
    /* A protocol without a type cannot be called, nor freed: refuse the
     * connection rather than crash (the protocol is lost). */
    return NULL;
  }
  if (p) {
    p->transport = NULL;
    p->factory = f;
  }
  return p;
}

void df__factory_do_start(df_factory *f) {
  if (f->num_ports++ == 0 && f->type && f->type->start_factory)
    f->type->start_factory(f);
}

void df__factory_do_stop(df_factory *f) {
  if (f->num_ports == 0) return;
  if (--f->num_ports == 0 && f->type && f->type->stop_factory)
    f->type->stop_factory(f);
}

void df__protocol_release(df_protocol *p) {
  if (p && p->type && p->type->free) p->type->free(p);
}
