/* tlhost-cmds.h — the subcommands of tlhost (one file each). Each returns the
 * process exit status: 0 success, 1 failure, 2 invalid input/usage. */
#ifndef TLHOST_CMDS_H
#define TLHOST_CMDS_H

int tlhost_cmd_list(int argc, char **argv);
int tlhost_cmd_inspect(int argc, char **argv);
int tlhost_cmd_version(int argc, char **argv);
int tlhost_cmd_run(int argc, char **argv);
int tlhost_cmd_validate(int argc, char **argv);
int tlhost_cmd_conformance(int argc, char **argv);

#endif
