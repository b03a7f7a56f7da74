#ifndef BLAS_STARTUP_H
#define BLAS_STARTUP_H

/// OPENBLAS_THREAD_TIMEOUT as OpenBLAS uses it: the user's, or the one BLASStartup.c set (NULL if
/// neither).
const char *blas_startup_thread_timeout(void);

#endif
