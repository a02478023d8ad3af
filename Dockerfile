# One image for every process of MLOps Studio: web (gunicorn), serving (uvicorn),
# Celery workers and beat; the command picks the role (deploy/compose.yaml,
# deploy/kubernetes/).
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.12-slim-bookworm
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 VAR_DIR=/var/lib/mlops-studio
WORKDIR /app
COPY pyproject.toml ./
RUN pip install .
COPY . .
COPY --from=frontend /src/frontend/dist frontend/dist
RUN useradd --create-home --uid 1000 studio \
    && mkdir -p "$VAR_DIR" && chown studio "$VAR_DIR" \
    && SECRET_KEY=build-only-collectstatic python manage.py collectstatic --no-input \
    && chown -R studio "$VAR_DIR"
USER studio
EXPOSE 8000
# Liveness of the web and serving roles; workers are probed with `celery inspect ping`.
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
CMD ["gunicorn", "mlops_studio.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
