/* ini.c — being written; see its header. */
