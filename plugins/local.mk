# In-tree plugins: one folder each, each with its own local.mk.
# (plugins are added here as their issues land)
include plugins/fives/local.mk
include plugins/dapple/local.mk
include plugins/fusion/local.mk
