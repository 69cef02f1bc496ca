/* jsonld.c — being written; see its header. */
