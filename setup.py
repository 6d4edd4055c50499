"""Installs the library packages robustcrf, umn and tf_data.

The paper harness (`scripts/`) runs from the checkout as `python -m scripts.<name>`;
it is not installed, so no generic top-level `scripts` package lands in site-packages.
"""

import setuptools

setuptools.setup(
    name="noisylabels",
    version="0.1.0",
    description=(
        "Training deep networks on noisily labelled data in Keras 3: the "
        "robust CRF (Vahdat 2017) and Uncertainty Mining Net (ICLR 2020)."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["robustcrf*", "umn*", "tf_data*"]),
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorflow-datasets",
        "numpy",
        "absl-py",
        "scikit-learn",
        # tensorflow-datasets needs it at download time and does not declare it.
        "importlib_resources",
    ],
    extras_require={
        # The paper harness (`python -m scripts.<name>`) draws its figures with matplotlib.
        "scripts": ["matplotlib"],
        "test": ["pytest", "matplotlib"],
    },
)
