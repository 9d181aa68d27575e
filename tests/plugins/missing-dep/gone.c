/* gone.c — the library missing-dep links to; never on the run-time path. */
int tl_test_gone_value (void);

int
tl_test_gone_value (void)
{
  return 7;
}
