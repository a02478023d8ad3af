"""The demo pipelines: shipped as templates and loaded into the demo workspace."""

from __future__ import annotations

from pipelines.graph.builder import GraphBuilder


def breast_cancer_graph() -> dict:
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="breast_cancer")
        .node("split", "data.split", at=(260, 0), test_size=0.25, stratify_column="target", seed=0)
        .node("scale", "sklearn.preprocessing.StandardScaler", at=(0, 200))
        .node("logreg", "sklearn.linear_model.LogisticRegression", at=(260, 200), C=1.0, max_iter=1000)
        .node("train", "model.train", at=(520, 100), target="target")
        .node("evaluate", "model.evaluate", at=(780, 100), target="target")
        .edge("load.table", "split.table")
        .edge("scale.estimator", "logreg.estimator")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def wine_graph() -> dict:
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="wine")
        .node("split", "data.split", at=(260, 0), test_size=0.3, stratify_column="target", seed=0)
        .node("impute", "sklearn.impute.SimpleImputer", at=(0, 200), strategy="median")
        .node("scale", "sklearn.preprocessing.StandardScaler", at=(200, 200))
        .node("pca", "sklearn.decomposition.PCA", at=(400, 200), n_components=6)
        .node("forest", "sklearn.ensemble.RandomForestClassifier", at=(600, 200), n_estimators=200)
        .node("train", "model.train", at=(780, 60), target="target")
        .node("evaluate", "model.evaluate", at=(1040, 60), target="target")
        .edge("load.table", "split.table")
        .edge("impute.estimator", "scale.estimator")
        .edge("scale.estimator", "pca.estimator")
        .edge("pca.estimator", "forest.estimator")
        .edge("forest.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def diabetes_graph() -> dict:
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="diabetes")
        .node("split", "data.split", at=(260, 0), test_size=0.2, seed=0)
        .node("scale", "sklearn.preprocessing.StandardScaler", at=(0, 200))
        .node("ridge", "sklearn.linear_model.Ridge", at=(260, 200), alpha=1.0)
        .node("train", "model.train", at=(520, 100), target="target")
        .node("evaluate", "model.evaluate", at=(780, 100), target="target")
        .node("predict", "model.predict", at=(780, 260))
        .edge("load.table", "split.table")
        .edge("scale.estimator", "ridge.estimator")
        .edge("ridge.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .edge("train.model", "predict.model")
        .edge("split.test", "predict.table")
        .build()
    )


def tuned_breast_cancer_graph() -> dict:
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="breast_cancer")
        .node("split", "data.split", at=(260, 0), test_size=0.25, stratify_column="target", seed=0)
        .node("scale", "sklearn.preprocessing.StandardScaler", at=(0, 200))
        .node("logreg", "sklearn.linear_model.LogisticRegression", at=(260, 200), max_iter=1000)
        .node(
            "tune",
            "model.tune",
            at=(520, 100),
            target="target",
            parameters={"C": [0.001, 0.01, 0.1, 1, 10, 100]},
            folds=5,
            scoring="accuracy",
        )
        .node("evaluate", "model.evaluate", at=(780, 100), target="target")
        .edge("load.table", "split.table")
        .edge("scale.estimator", "logreg.estimator")
        .edge("logreg.estimator", "tune.estimator")
        .edge("split.train", "tune.table")
        .edge("tune.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def churn_graph(dataset: str) -> dict:
    """Uploaded churn CSV → split → prep.auto → gradient boosting → train → evaluate.

    ``dataset`` is the sha256 of the workspace's churn dataset (``demo_data``).
    model.evaluate has no target: it reads the one the model was trained on.
    """
    return (
        GraphBuilder()
        .node("load", "dataset.upload", at=(0, 0), dataset=dataset)
        .node("split", "data.split", at=(260, 0), test_size=0.25, stratify_column="churned", seed=0)
        .node("prep", "prep.auto", at=(0, 200))
        .node("boost", "sklearn.ensemble.HistGradientBoostingClassifier", at=(260, 200))
        .node("train", "model.train", at=(520, 100), target="churned")
        .node("evaluate", "model.evaluate", at=(780, 100))
        .edge("load.table", "split.table")
        .edge("prep.estimator", "boost.estimator")
        .edge("boost.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def loans_graph() -> dict:
    """loans → bias report of the data; a plain and a mitigated logistic regression side by
    side, each with its fairness report; explanations of the plain one.

    The plain model is trained without ``group`` (``exclude``), yet its fairness report reads
    the column from the test table and still finds the bias (zip_score is a proxy). The
    mitigated one keeps ``group`` as the constraint's groups, not as a feature.
    """
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="loans")
        .node("data_bias", "rai.dataset_bias", at=(0, 160), sensitive_columns=["group"], label="target")
        .node("split", "data.split", at=(260, 0), test_size=0.3, stratify_column="target", seed=0)
        .node("scale", "sklearn.preprocessing.StandardScaler", at=(0, 320))
        .node("logreg", "sklearn.linear_model.LogisticRegression", at=(0, 460), max_iter=1000)
        .node("train", "model.train", at=(520, 160), target="target", exclude=["group"])
        .node("evaluate", "model.evaluate", at=(780, 0))
        .node("fairness", "rai.fairness", at=(780, 160), sensitive_column="group")
        .node("importance", "explain.permutation_importance", at=(780, 320))
        .node("shap", "explain.shap", at=(780, 480), max_rows=100)
        .node("scale_fair", "sklearn.preprocessing.StandardScaler", at=(260, 620))
        .node("logreg_fair", "sklearn.linear_model.LogisticRegression", at=(260, 760), max_iter=1000)
        .node(
            "mitigate",
            "rai.mitigate",
            at=(520, 700),
            sensitive_column="group",
            method="reductions",
            constraint="demographic_parity",
        )
        .node("train_fair", "model.train", at=(780, 640), target="target")
        .node("evaluate_fair", "model.evaluate", at=(1040, 560))
        .node("fairness_fair", "rai.fairness", at=(1040, 720), sensitive_column="group")
        .edge("load.table", "data_bias.table")
        .edge("load.table", "split.table")
        .edge("scale.estimator", "logreg.estimator")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .edge("train.model", "fairness.model")
        .edge("split.test", "fairness.table")
        .edge("train.model", "importance.model")
        .edge("split.test", "importance.table")
        .edge("train.model", "shap.model")
        .edge("split.test", "shap.table")
        .edge("scale_fair.estimator", "logreg_fair.estimator")
        .edge("logreg_fair.estimator", "mitigate.estimator")
        .edge("mitigate.estimator", "train_fair.estimator")
        .edge("split.train", "train_fair.table")
        .edge("train_fair.model", "evaluate_fair.model")
        .edge("split.test", "evaluate_fair.table")
        .edge("train_fair.model", "fairness_fair.model")
        .edge("split.test", "fairness_fair.table")
        .build()
    )


def continuous_training_graph() -> dict:
    """The training half of continuous training; the retrain policy and gates do the rest."""
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="breast_cancer")
        .node("split", "data.split", at=(260, 0), test_size=0.25, stratify_column="target", seed=0)
        .node("boost", "sklearn.ensemble.HistGradientBoostingClassifier", at=(260, 200))
        .node("train", "model.train", at=(520, 100), target="target")
        .node("evaluate", "model.evaluate", at=(780, 100), target="target")
        .edge("load.table", "split.table")
        .edge("boost.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


CHURN_DEMO = {
    "name": "Customer churn — auto-prep + gradient boosting",
    "description": "A mixed-type table as people upload it (numbers, city and plan as text, blanks, "
    "a customer_id): prep.auto encodes each column by its type and drops the id, a histogram "
    "gradient boosting classifier predicts 'churned'. Deploy it and try a blank field.",
    "dataset_name": "Customer churn (demo)",
    "filename": "churn.csv",
    "graph": churn_graph,
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
    {
        "name": "Loans — bias reports and a fairer model",
        "description": "Responsible AI on the synthetic loans table: the data's label rates by group, "
        "a logistic regression trained without 'group' next to one trained under a demographic parity "
        "constraint (fairlearn ExponentiatedGradient), the fairness report of each, and explanations.",
        "graph": loans_graph,
    },
    {
        "name": "Continuous training — retrain, evaluate, gate, promote",
        "description": "Retrain → evaluate → gates → challenger → champion. Run it, register and deploy its model "
        "following 'champion', set the model's gates, then on the deployment's Alerts & retraining page pick this "
        "pipeline and tick automatic promotion: a persistent drift or performance alert retrains, and the new "
        "model becomes champion only when every gate passes. Point 'load' at your own dataset.",
        "graph": continuous_training_graph,
    },
]
