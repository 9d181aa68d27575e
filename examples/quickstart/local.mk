# The quickstart jobs (datasets helper).
EXTRA_DIST += examples/quickstart/README.md examples/quickstart/fashion-mnist-mlp.xml \
	examples/quickstart/synthetic.xml examples/quickstart/adult-logreg.xml \
	examples/quickstart/evaluate-best.xml
