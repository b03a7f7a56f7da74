// Shortens how long OpenBLAS's idle threads spin, before any BLAS call of ours.
//
// After a call that used its threads, Debian's pthreads OpenBLAS 0.3.21 keeps them spinning
// (sched_yield) for 2^28 cycles before they sleep: 110 ms of a core after each 512×512 sgemm (a C
// harness on this machine). The recurrent models run the batch's parts on threads of their own
// (BatchParallel), right after multi-threaded GEMMs: on two cores the spinning thread took a
// core's share from them (13% of a pixel step's perf samples were sched_yield). 2^18 cycles (about
// 0.1 ms) still bridges the gap between one step's GEMM and the next where OpenBLAS threads each
// step itself (a batch too small to split).
//
// OpenBLAS reads OPENBLAS_THREAD_TIMEOUT in its library constructor, which runs before ours; so
// this constructor sets it, has OpenBLAS read its environment again and stops its threads, which
// the next threaded call starts again with the new timeout. A value the user set is kept as it is.
//
// The environment is then put back as it was, the same array: a binary linked with
// --static-swift-stdlib (scripts/install) finds its command line next to the process's initial
// environment, and with `environ` moved by setenv it saw no arguments at all (every command printed
// the overview). So the variable is not passed on to child processes; each spectral-lab sets it
// again itself.
#include <stdlib.h>
#include "BLASThreading.h"

extern char **environ;
void openblas_read_env(void);
int blas_thread_shutdown_(void);

static const char *timeout;

__attribute__((constructor)) static void shorten_thread_timeout(void) {
    timeout = getenv("OPENBLAS_THREAD_TIMEOUT");
    if (timeout) return;
    char **initial = environ;
    setenv("OPENBLAS_THREAD_TIMEOUT", "18", 0);
    openblas_read_env();
    blas_thread_shutdown_();
    environ = initial;
    timeout = "18";
}

const char *blas_thread_timeout(void) { return timeout; }
