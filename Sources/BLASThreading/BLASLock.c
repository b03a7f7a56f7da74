// One lock over the process's OpenBLAS, so that BatchParallel's parts can run it single-threaded
// on several threads at once without changing what any other thread's calls compute.
//
// OpenBLAS has one thread count for the whole process, and its results depend on it (a C harness
// here: 24 of 40 sgemm shapes rounded differently at 1 and 2 threads). Called from two threads while
// it is 2, it serialized the calls; so the parts set it to 1 for their pass. Meanwhile no other
// thread may call OpenBLAS: its results would depend on whether a pass was running (parallel tests
// got different bits run to run). Every call takes this lock shared; the parts take it exclusively.
// Writers are preferred, so a pass waits only for the calls already under way. The parts' own calls
// take no lock, since their pass holds it: partGemm and partDot skip it, and so does every call on a
// thread marked as running a part (blas_part_enter), which lets a part run code that calls BLAS
// through the ordinary wrappers.
#define _GNU_SOURCE
#include <pthread.h>
#include "BLASThreading.h"

static pthread_rwlock_t lock;
static _Thread_local int in_part;

__attribute__((constructor)) static void make_lock(void) {
    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock, &attributes);
    pthread_rwlockattr_destroy(&attributes);
}

void blas_call_begin(void) { if (!in_part) pthread_rwlock_rdlock(&lock); }
void blas_call_end(void) { if (!in_part) pthread_rwlock_unlock(&lock); }
void blas_part_enter(void) { in_part = 1; }
void blas_part_leave(void) { in_part = 0; }
void blas_parts_begin(void) { pthread_rwlock_wrlock(&lock); }
void blas_parts_end(void) { pthread_rwlock_unlock(&lock); }
