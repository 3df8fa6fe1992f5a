# syntax=docker/dockerfile:1
# rls-cds: the CDS Hooks service for restless legs syndrome, served by granian (rls-cds serve).
#
#   docker build -t rls-cds .
#   docker run --rm -p 8080:8080 -e CDS_TRUSTED_ISSUERS='...' rls-cds
#
# Two stages: "build" has the compilers (full Debian image) and makes the virtualenv;
# the final stage is python:slim with only that virtualenv and the application tree.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY hooks ./hooks
COPY fhir_fixtures ./fhir_fixtures
# Editable: the package runs from /app, laid out as the repository is (hooks/, fhir_fixtures/
# and var/ beside cds_service/), so files are found as in a checkout and in the tests.
RUN pip install --no-cache-dir --editable . \
    && python -m compileall -q /app/cds_service


FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="rls-cds" \
      org.opencontainers.image.description="CDS Hooks 2.0 service for restless legs syndrome treatment" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/rls-cds-prometheus \
    CDS_SERVER=granian

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# var/ holds the SQLite feedback store when no CDS_DATABASE_URL is given.
RUN install --directory --owner=app --group=app --mode=0750 /app/var

USER 10001:10001
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]

ENTRYPOINT ["rls-cds"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
