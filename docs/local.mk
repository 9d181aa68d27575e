# Documentation shipped with the package.
dist_doc_DATA += docs/design.md
dist_doc_DATA += docs/plugin-guide.md
dist_doc_DATA += docs/manifest-plugin.md
dist_doc_DATA += docs/manifest-reference.md
dist_doc_DATA += docs/ops.md
dist_doc_DATA += docs/training.md
dist_doc_DATA += docs/communicator.md
