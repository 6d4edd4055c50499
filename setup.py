"""Installs robustcrf, umn, tf_data and scripts."""

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
    packages=setuptools.find_packages(include=["robustcrf*", "umn*", "tf_data*", "scripts*"]),
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
    extras_require={"test": ["pytest"]},
)
