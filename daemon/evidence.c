/* evidence.c — being written; see evidence.h. */
