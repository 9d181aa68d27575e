# A killed training job resumes from its last checkpoint (tlhost, SIGKILL, resume=).
TESTS += tests/test-kill-resume.sh
EXTRA_DIST += tests/test-kill-resume.sh
