"""poetry-server and get-poetry under valgrind on a small scenario: no
error, no leak (valgrind's --error-exitcode is 9, so any finding changes
the exit statuses checked here).

    valgrind_tools.py VALGRIND BIN_DIR POEMS_DIR

The server (under valgrind) serves science.txt (in four chunks, 0.6 s); get-poetry (under
valgrind) downloads it three ways at once: plain, from a port where
nothing listens, and then with --byronify and every engine call failing
(step 5: the poem as received); a client leaves mid-poem; the server is
stopped by SIGTERM with one client cut off."""
import os
import socket
import sys
import time

from harness import (check, poem, run, start_server, stop, unused_port,
                     watchdog, Failure)


def main():
    valgrind_bin, bin_dir, poems = sys.argv[1:4]
    vg = [valgrind_bin, "-q", "--leak-check=full", "--errors-for-leak-kinds=all",
          "--error-exitcode=9"]
    watchdog(240)
    science = poem(poems, "science")
    proc, port = start_server(vg + [os.path.join(bin_dir, "poetry-server"),
                                    "--delay", "0.2", "--num-bytes", "200",
                                    os.path.join(poems, "science.txt")], timeout=60)
    get = vg + [os.path.join(bin_dir, "get-poetry"), "--no-progress"]
    r = run(get + [str(port), str(unused_port())], timeout=120)
    check(r.returncode == 1, "get-poetry: exit %d (9: valgrind): %s" %
          (r.returncode, r.stderr.decode()))
    check(r.stdout == science, "get-poetry's poem is not exact")
    r = run(get + ["--byronify", "--fault-rate", "1", str(port)], timeout=120)
    check(r.returncode == 0 and r.stdout == science,
          "get-poetry --byronify: exit %d: %s" % (r.returncode, r.stderr.decode()))
    leaver = socket.create_connection(("127.0.0.1", port))
    check(leaver.recv(10), "no first chunk")
    leaver.close()
    stays = socket.create_connection(("127.0.0.1", port))
    check(stays.recv(10), "no first chunk")
    status, err = stop(proc, timeout=60)
    stays.close()
    check(status == 0, "poetry-server: exit %d (9: valgrind): %s" % (status, err))
    check("1 cut off mid-poem" in err, err)
    print("ok: poetry-server and get-poetry are valgrind-clean")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
