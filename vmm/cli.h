/* cli.h: pupa's command line: a table of commands and the options each accepts.
 * parse -> validate -> defaults -> run; an option a command does not use is a usage
 * error naming it; bad values name their option. */
#ifndef PUPA_CLI_H
#define PUPA_CLI_H

/* Run pupa with these arguments; returns its exit status. */
int cli_main(int argc, char **argv);

#endif
