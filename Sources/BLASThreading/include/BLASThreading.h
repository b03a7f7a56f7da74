#ifndef BLAS_THREADING_H
#define BLAS_THREADING_H

/// OPENBLAS_THREAD_TIMEOUT as OpenBLAS uses it: the user's, or the one ThreadTimeout.c set (NULL if
/// neither).
const char *blas_thread_timeout(void);

/// Around every call into OpenBLAS or LAPACK (shared: any number at once).
void blas_call_begin(void);
void blas_call_end(void);
/// Around BatchParallel's parts, which set OpenBLAS's thread count to one meanwhile (exclusive: no
/// other call runs then, so none sees that thread count).
void blas_parts_begin(void);
void blas_parts_end(void);
/// Marks the calling thread as running one of those parts (its calls then skip the lock the pass
/// holds), and unmarks it.
void blas_part_enter(void);
void blas_part_leave(void);

#endif
