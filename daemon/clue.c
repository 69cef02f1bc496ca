/* clue.c — being written; see its header. */
