/*
 * The machine's state for a benchmark: how long a cache line takes to go from one
 * thread to another and back (two OpenMP threads passing one atomic counter back and
 * forth). On the VMs norma is measured on, the two vCPUs are sometimes close (about
 * 100 ns) and sometimes far apart (450 to 550 ns), and in the far state a layer's
 * output read by the other core costs several times more; tools/bench.py prints this
 * before and after each row so that a table says which state it was taken in.
 *
 * Build and run: cc -O2 -fopenmp tools/xcore_probe.c -o xcore_probe && ./xcore_probe
 * Prints {"round_trip_ns": N} (the median of 5 rounds of 20,000 round trips).
 */
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

enum { TRIPS = 20000, ROUNDS = 5 };

static _Alignas(64) atomic_long turn;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    double ns[ROUNDS];
    int pair = 1;
    for (int r = 0; r < ROUNDS; r++) {
        atomic_store(&turn, 0);
        double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(2)
        {
            long me = omp_get_thread_num();
            if (omp_get_num_threads() != 2) {
#pragma omp atomic write
                pair = 0;
            } else {
#pragma omp barrier
                if (me == 0)
                    t0 = omp_get_wtime();
                for (long i = 0; i < TRIPS; i++) {
                    long want = 2 * i + me, next = want + 1;
                    while (atomic_load_explicit(&turn, memory_order_acquire) != want)
                        ;
                    atomic_store_explicit(&turn, next, memory_order_release);
                }
                if (me == 0)
                    t1 = omp_get_wtime();
            }
        }
        ns[r] = (t1 - t0) / TRIPS * 1e9;
    }
    if (!pair) { /* one CPU, or OMP_NUM_THREADS / a thread limit of 1 */
        printf("{\"round_trip_ns\": null}\n");
        return 0;
    }
    qsort(ns, ROUNDS, sizeof ns[0], cmp_double);
    printf("{\"round_trip_ns\": %.0f}\n", ns[ROUNDS / 2]);
    return 0;
}
