/* Threads on the libuv reactor (thread.h): defer_to_thread on libuv's
 * thread pool, and call_from_thread through a uv_async_t.
 *
 * A job is a uv_work_t with its function, its result and the deferred it
 * fires; the pool thread only runs the function and stores the result,
 * and everything else (firing, dropping) happens on the reactor's thread
 * in the after-work callback. Cancelling the deferred calls uv_cancel,
 * which takes a job still queued off the pool's queue (the after-work
 * callback then sees UV_ECANCELED); a running job cannot be stopped, and
 * its result is dropped when it comes, the deferred having failed with
 * CancelledError already.
 *
 * call_from_thread appends to a queue under a mutex and wakes the loop
 * with uv_async_send, which libuv makes safe from any thread (several
 * sends may wake the loop once: the callback drains the whole queue). */
#include <string.h>

#include "internal.h"

typedef struct thread_call {
  struct thread_call *next;
  df_call_fn fn;
  void *arg;
} thread_call;

struct df__uv_threads {
  df__uv_reactor *ur;
  df_reactor *r;
  uv_async_t wakeup;
  uv_mutex_t lock;
  thread_call *head, *tail; /* under `lock` */
  bool closed;              /* under `lock` */
  df__link jobs;            /* jobs not yet finished */
};

typedef struct job {
  uv_work_t req;
  df__uv_threads *th;
  df_thread_fn fn;
  void *arg;
  df_deferred *d; /* a reference, fired (or not: cancelled) after the work */
  df_result result;
  df__link link;
} job;

/* --- call_from_thread ------------------------------------------------------------ */

static void run_thread_calls(uv_async_t *wakeup) {
  df__uv_threads *th = wakeup->data;
  uv_mutex_lock(&th->lock);
  thread_call *calls = th->head;
  th->head = th->tail = NULL;
  uv_mutex_unlock(&th->lock);
  while (calls) {
    thread_call *next = calls->next;
    calls->fn(calls->arg);
    df__uv_free(calls);
    calls = next;
  }
}

int df__uv_call_from_thread(df_reactor *r, df_call_fn fn, void *arg) {
  df__uv_threads *th = df__uv_threads_of(df__uv_reactor_of(r));
  thread_call *call = df__uv_malloc(sizeof *call);
  if (!call) return DF_ENOMEM;
  *call = (thread_call){NULL, fn, arg};
  uv_mutex_lock(&th->lock);
  if (th->closed) {
    uv_mutex_unlock(&th->lock);
    df__uv_free(call);
    return DF_EINVAL;
  }
  if (th->tail)
    th->tail->next = call;
  else
    th->head = call;
  th->tail = call;
  uv_mutex_unlock(&th->lock);
  uv_async_send(&th->wakeup);
  return 0;
}

/* --- defer_to_thread --------------------------------------------------------------- */

static void run_job(uv_work_t *req) {
  job *j = DF__CONTAINER_OF(req, job, req);
  j->result = j->fn(j->arg);
}

static void job_done(uv_work_t *req, int status) {
  job *j = DF__CONTAINER_OF(req, job, req);
  df__list_remove(&j->link);
  df__uv_release(j->th->ur);
  df_deferred *d = j->d;
  if (status == UV_ECANCELED) {
    /* Taken off the queue: by a cancel of the deferred (which failed it
     * already), or by df_reactor_free (which did not). */
    if (!df_deferred_called(d))
      df_deferred_errback(d, df_failure_new(&df_error_cancelled,
                                            "the thread job was cancelled"));
  } else if (df_deferred_called(d)) {
    df_result_drop(j->result); /* cancelled while running */
  } else if (j->result.kind == DF_DEFERRED) {
    df_result_drop(j->result);
    df_deferred_errback(d, df_failure_new(&df_error_invalid_argument,
                                          "defer_to_thread: the function "
                                          "returned a deferred"));
  } else {
    df_deferred_callback(d, j->result);
  }
  df_deferred_unref(d);
  df__uv_free(j);
}

static void cancel_job(df_deferred *d, void *arg) {
  (void)d;
  job *j = arg;
  /* 0: it was queued and will not run. Otherwise it is running (or done
   * and about to be reported): nothing to stop. Either way `d` now fails
   * with CancelledError, as a canceller that does not fire it makes it. */
  uv_cancel((uv_req_t *)&j->req);
}

df_deferred *df__uv_defer_to_thread(df_reactor *r, df_thread_fn fn, void *arg) {
  df__uv_reactor *ur = df__uv_reactor_of(r);
  job *j = df__uv_calloc(1, sizeof *j);
  if (!j) return NULL;
  df_deferred *d = df_deferred_new_with_canceller(cancel_job, j);
  if (!d) {
    df__uv_free(j);
    return NULL;
  }
  j->th = df__uv_threads_of(ur);
  j->fn = fn;
  j->arg = arg;
  j->d = df_deferred_ref(d);
  int rc = uv_queue_work(df__uv_loop(ur), &j->req, run_job, job_done);
  if (rc < 0) {
    df_deferred_unref(j->d);
    df__uv_free(j);
    df_deferred_errback(d, df_network_failure(&df_error_exception, rc,
                                              "defer_to_thread"));
    return d;
  }
  df__uv_hold(ur);
  df__list_append(&j->th->jobs, &j->link);
  return d;
}

/* --- the reactor's part ------------------------------------------------------------ */

static void wakeup_closed(uv_handle_t *h) {
  df__uv_threads *th = h->data;
  df__uv_release(th->ur);
}

int df__uv_threads_init(df__uv_reactor *ur, df__uv_threads **out) {
  df__uv_threads *th = df__uv_calloc(1, sizeof *th);
  *out = th;
  if (!th) return DF_ENOMEM;
  th->ur = ur;
  df__list_init(&th->jobs);
  int rc = uv_mutex_init(&th->lock);
  if (rc < 0) {
    df__uv_free(th);
    *out = NULL;
    return rc;
  }
  rc = uv_async_init(df__uv_loop(ur), &th->wakeup, run_thread_calls);
  if (rc < 0) {
    uv_mutex_destroy(&th->lock);
    df__uv_free(th);
    *out = NULL;
    return rc;
  }
  th->wakeup.data = th;
  df__uv_hold(ur);
  uv_unref((uv_handle_t *)&th->wakeup);
  return 0;
}

void df__uv_threads_ref(df__uv_threads *th, bool keep_loop_alive) {
  if (keep_loop_alive)
    uv_ref((uv_handle_t *)&th->wakeup);
  else
    uv_unref((uv_handle_t *)&th->wakeup);
}

void df__uv_threads_close(df__uv_threads *th) {
  uv_mutex_lock(&th->lock);
  th->closed = true;
  uv_mutex_unlock(&th->lock);
  for (df__link *l = th->jobs.next; l != &th->jobs; l = l->next) {
    job *j = DF__CONTAINER_OF(l, job, link);
    uv_cancel((uv_req_t *)&j->req);
  }
  uv_close((uv_handle_t *)&th->wakeup, wakeup_closed);
}

void df__uv_threads_free(df__uv_threads *th) {
  if (!th) return;
  thread_call *calls = th->head;
  while (calls) {
    thread_call *next = calls->next;
    df__uv_free(calls);
    calls = next;
  }
  uv_mutex_destroy(&th->lock);
  df__uv_free(th);
}
