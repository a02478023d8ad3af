"""The scikit-learn estimators shown in the palette by default.

Everything else in scikit-learn is still a block; it is found by search. Keys
are public import paths. ``defaults`` override the estimator's own defaults in
the block's schema (they must satisfy the generated schema).

SVC keeps scikit-learn's default ``probability=False`` (the parameter is
deprecated since scikit-learn 1.9, so it is not in the schema at all):
``model.evaluate`` computes ROC AUC from ``decision_function`` when there is no
``predict_proba``, which is also faster than SVC's internal cross-validated
Platt scaling and keeps ``predict`` consistent with the scores.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Curated(NamedTuple):
    label: str
    category: str
    defaults: dict[str, Any] = {}


CURATED: dict[str, Curated] = {
    # Preprocessing
    "sklearn.preprocessing.StandardScaler": Curated("Standard scaler", "Preprocessing"),
    "sklearn.preprocessing.MinMaxScaler": Curated("Min-max scaler", "Preprocessing"),
    "sklearn.preprocessing.RobustScaler": Curated("Robust scaler", "Preprocessing"),
    "sklearn.preprocessing.OneHotEncoder": Curated(
        "One-hot encoder",
        "Preprocessing",
        # Unseen categories at prediction time must not break a deployed model,
        # and a dense output keeps every downstream estimator usable.
        {"handle_unknown": "ignore", "sparse_output": False},
    ),
    "sklearn.impute.SimpleImputer": Curated("Simple imputer", "Preprocessing"),
    "sklearn.preprocessing.PolynomialFeatures": Curated("Polynomial features", "Preprocessing"),
    "sklearn.preprocessing.Normalizer": Curated("Normalizer", "Preprocessing"),
    # Dimensionality reduction
    "sklearn.decomposition.PCA": Curated("PCA", "Dimensionality reduction"),
    "sklearn.decomposition.TruncatedSVD": Curated("Truncated SVD", "Dimensionality reduction"),
    # Classification
    "sklearn.linear_model.LogisticRegression": Curated("Logistic regression", "Classification"),
    "sklearn.ensemble.RandomForestClassifier": Curated(
        "Random forest classifier", "Classification"
    ),
    "sklearn.ensemble.GradientBoostingClassifier": Curated(
        "Gradient boosting classifier", "Classification"
    ),
    "sklearn.ensemble.HistGradientBoostingClassifier": Curated(
        "Histogram gradient boosting classifier", "Classification"
    ),
    "sklearn.svm.SVC": Curated("Support vector classifier (SVC)", "Classification"),
    "sklearn.neighbors.KNeighborsClassifier": Curated(
        "k-nearest neighbors classifier", "Classification"
    ),
    "sklearn.tree.DecisionTreeClassifier": Curated("Decision tree classifier", "Classification"),
    "sklearn.naive_bayes.GaussianNB": Curated("Gaussian naive Bayes", "Classification"),
    # Regression
    "sklearn.linear_model.LinearRegression": Curated("Linear regression", "Regression"),
    "sklearn.linear_model.Ridge": Curated("Ridge regression", "Regression"),
    "sklearn.linear_model.Lasso": Curated("Lasso regression", "Regression"),
    "sklearn.ensemble.RandomForestRegressor": Curated("Random forest regressor", "Regression"),
    "sklearn.ensemble.GradientBoostingRegressor": Curated(
        "Gradient boosting regressor", "Regression"
    ),
    "sklearn.ensemble.HistGradientBoostingRegressor": Curated(
        "Histogram gradient boosting regressor", "Regression"
    ),
    "sklearn.svm.SVR": Curated("Support vector regressor (SVR)", "Regression"),
    "sklearn.neighbors.KNeighborsRegressor": Curated("k-nearest neighbors regressor", "Regression"),
    "sklearn.tree.DecisionTreeRegressor": Curated("Decision tree regressor", "Regression"),
    # Clustering
    "sklearn.cluster.KMeans": Curated("k-means", "Clustering"),
    "sklearn.cluster.DBSCAN": Curated("DBSCAN", "Clustering"),
}
