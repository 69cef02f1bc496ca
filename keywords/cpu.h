/* cpu.h — what the CPU offers, checked at run time, for the code paths
 * built with __attribute__((target)) (litscan.c, matcher.c). */
#ifndef QW_CPU_H
#define QW_CPU_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QW_CPU_X86_64 1
#else
#define QW_CPU_X86_64 0
#endif

/* 1 when AVX-512 F, BW, VBMI and VBMI2 are there (Ice Lake, Zen 4 and
 * later), else 0. */
static inline int qw_cpu_avx512_vbmi2(void)
{
#if QW_CPU_X86_64
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vbmi") &&
         __builtin_cpu_supports("avx512vbmi2");
#else
  return 0;
#endif
}

#endif
