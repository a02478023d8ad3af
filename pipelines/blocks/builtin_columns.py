"""The columns of each built-in dataset, written out so graph validation knows them
without importing scikit-learn's dataset loaders (seconds in a fresh web process).

A unit test compares them with what ``data.load_builtin`` really returns.
"""

from __future__ import annotations

_BREAST_CANCER_MEASURES = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave points", "symmetry", "fractal dimension",
)  # fmt: skip

BUILTIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "iris": (
        "sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)", "target",
    ),
    "wine": (
        "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
        "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
        "od280/od315_of_diluted_wines", "proline", "target",
    ),
    "breast_cancer": (
        *(f"mean {m}" for m in _BREAST_CANCER_MEASURES),
        *(f"{m} error" for m in _BREAST_CANCER_MEASURES),
        *(f"worst {m}" for m in _BREAST_CANCER_MEASURES),
        "target",
    ),
    "diabetes": ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "target"),
    "digits": (*(f"pixel_{row}_{col}" for row in range(8) for col in range(8)), "target"),
    "loans": (
        "group", "age", "income", "credit_score", "debt_ratio", "years_employed", "loan_amount",
        "zip_score", "target",
    ),
}  # fmt: skip
