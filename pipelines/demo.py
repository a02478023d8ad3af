"""The demo pipelines: shipped as templates and loaded into the demo workspace."""

from __future__ import annotations


def _node(node_id: str, block: str, x: int, y: int, **params) -> dict:
    return {"id": node_id, "block": block, "params": params, "position": {"x": x, "y": y}}


def _edge(source: str, source_port: str, target: str, target_port: str) -> dict:
    return {"source": source, "source_port": source_port, "target": target, "target_port": target_port}


def breast_cancer_graph() -> dict:
    return {
        "nodes": [
            _node("load", "dataset.builtin", 0, 0, name="breast_cancer"),
            _node("split", "data.split", 260, 0, test_size=0.25, stratify_column="target", seed=0),
            _node("scale", "sklearn.preprocessing.StandardScaler", 0, 200),
            _node("logreg", "sklearn.linear_model.LogisticRegression", 260, 200, C=1.0, max_iter=1000),
            _node("train", "model.train", 520, 100, target="target"),
            _node("evaluate", "model.evaluate", 780, 100, target="target"),
        ],
        "edges": [
            _edge("load", "table", "split", "table"),
            _edge("scale", "estimator", "logreg", "estimator"),
            _edge("logreg", "estimator", "train", "estimator"),
            _edge("split", "train", "train", "table"),
            _edge("train", "model", "evaluate", "model"),
            _edge("split", "test", "evaluate", "table"),
        ],
    }


def wine_graph() -> dict:
    return {
        "nodes": [
            _node("load", "dataset.builtin", 0, 0, name="wine"),
            _node("split", "data.split", 260, 0, test_size=0.3, stratify_column="target", seed=0),
            _node("impute", "sklearn.impute.SimpleImputer", 0, 200, strategy="median"),
            _node("scale", "sklearn.preprocessing.StandardScaler", 200, 200),
            _node("pca", "sklearn.decomposition.PCA", 400, 200, n_components=6),
            _node("forest", "sklearn.ensemble.RandomForestClassifier", 600, 200, n_estimators=200),
            _node("train", "model.train", 780, 60, target="target"),
            _node("evaluate", "model.evaluate", 1040, 60, target="target"),
        ],
        "edges": [
            _edge("load", "table", "split", "table"),
            _edge("impute", "estimator", "scale", "estimator"),
            _edge("scale", "estimator", "pca", "estimator"),
            _edge("pca", "estimator", "forest", "estimator"),
            _edge("forest", "estimator", "train", "estimator"),
            _edge("split", "train", "train", "table"),
            _edge("train", "model", "evaluate", "model"),
            _edge("split", "test", "evaluate", "table"),
        ],
    }


def diabetes_graph() -> dict:
    return {
        "nodes": [
            _node("load", "dataset.builtin", 0, 0, name="diabetes"),
            _node("split", "data.split", 260, 0, test_size=0.2, seed=0),
            _node("scale", "sklearn.preprocessing.StandardScaler", 0, 200),
            _node("ridge", "sklearn.linear_model.Ridge", 260, 200, alpha=1.0),
            _node("train", "model.train", 520, 100, target="target"),
            _node("evaluate", "model.evaluate", 780, 100, target="target"),
            _node("predict", "model.predict", 780, 260),
        ],
        "edges": [
            _edge("load", "table", "split", "table"),
            _edge("scale", "estimator", "ridge", "estimator"),
            _edge("ridge", "estimator", "train", "estimator"),
            _edge("split", "train", "train", "table"),
            _edge("train", "model", "evaluate", "model"),
            _edge("split", "test", "evaluate", "table"),
            _edge("train", "model", "predict", "model"),
            _edge("split", "test", "predict", "table"),
        ],
    }


def tuned_breast_cancer_graph() -> dict:
    return {
        "nodes": [
            _node("load", "dataset.builtin", 0, 0, name="breast_cancer"),
            _node("split", "data.split", 260, 0, test_size=0.25, stratify_column="target", seed=0),
            _node("scale", "sklearn.preprocessing.StandardScaler", 0, 200),
            _node("logreg", "sklearn.linear_model.LogisticRegression", 260, 200, max_iter=1000),
            _node("tune", "model.tune", 520, 100, target="target",
                  parameters={"C": [0.001, 0.01, 0.1, 1, 10, 100]}, folds=5, scoring="accuracy"),
            _node("evaluate", "model.evaluate", 780, 100, target="target"),
        ],
        "edges": [
            _edge("load", "table", "split", "table"),
            _edge("scale", "estimator", "logreg", "estimator"),
            _edge("logreg", "estimator", "tune", "estimator"),
            _edge("split", "train", "tune", "table"),
            _edge("tune", "model", "evaluate", "model"),
            _edge("split", "test", "evaluate", "table"),
        ],
    }


DEMO_PIPELINES = [
    {
        "name": "Breast cancer — logistic regression",
        "description": "Binary classification: scale the features, fit a logistic regression, evaluate on a held-out 25%.",
        "graph": breast_cancer_graph,
    },
    {
        "name": "Wine — PCA + random forest",
        "description": "Multi-class: impute, scale, reduce to 6 principal components, classify with a random forest.",
        "graph": wine_graph,
    },
    {
        "name": "Diabetes — ridge regression",
        "description": "Regression: predict disease progression one year after baseline; evaluate R², MAE and RMSE.",
        "graph": diabetes_graph,
    },
    {
        "name": "Breast cancer — tuned logistic regression",
        "description": "Grid search over C with 5-fold cross-validation; the trials spread over all workers and the best model is evaluated on the test split.",
        "graph": tuned_breast_cancer_graph,
    },
]
