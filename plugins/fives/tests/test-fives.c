/* test-fives.c — placeholder, replaced below */
#include <tl/tl.h>
int main (int argc, char **argv);
static void
test_nothing (void)
{
  g_test_skip ("not yet");
}
int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fives/nothing", test_nothing);
  return g_test_run ();
}
