# Hesabu: one small image that runs `hesabu serve`. Build: docker build -t hesabu .
# Installs exactly what uv.lock pins (versions and hashes); uv itself comes pinned with hashes too.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/hesabu UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /src
COPY .ci/uv-requirements.txt .ci/
RUN pip install --require-hashes --no-deps -r .ci/uv-requirements.txt
COPY pyproject.toml uv.lock README.md ./
# the dependencies first, in their own layer: a code change does not reinstall them
RUN uv sync --locked --no-install-project --no-editable
COPY bot ./bot
COPY webhooks ./webhooks
RUN uv sync --locked --no-editable

FROM python:3.11-slim
ENV PATH=/opt/hesabu/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HESABU_ENV=production \
    HESABU_DATABASE_URL=sqlite:////data/hesabu.db \
    HESABU_SPOOL_DIR=/data/spool
RUN useradd --system --uid 10001 --home-dir /data --create-home hesabu
COPY --from=build /opt/hesabu /opt/hesabu
USER hesabu
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# migrate, then serve; HESABU_SECRET_KEY must be provided (production refuses an empty or placeholder key)
CMD ["sh", "-c", "hesabu migrate && exec hesabu serve --host 0.0.0.0 --port 8000"]
