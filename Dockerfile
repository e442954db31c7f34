# The opencrime image: the official Airflow image with the project's pinned environment and the
# project itself. Every Airflow service of docker-compose.yaml runs this one image.
#
#   docker build -t opencrime-airflow .
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

# The same lock file `make` installs: the image runs exactly what the tests ran. Bytecode is
# compiled here, once: every task and worker process would otherwise compile its imports again.
COPY --chown=airflow:root requirements.lock /opt/opencrime/requirements.lock
RUN pip install --no-cache-dir "uv==0.13.9" \
 && uv pip install --no-cache --python "$(command -v python)" --compile-bytecode --require-hashes \
      -r /opt/opencrime/requirements.lock

# The project: transforms/ (business logic), the policy, the GX suites and the published schemas
# are read from /opt/opencrime at run time; the DAGs and the plugin go where Airflow looks.
COPY --chown=airflow:root pyproject.toml README.md /opt/opencrime/
COPY --chown=airflow:root transforms /opt/opencrime/transforms
COPY --chown=airflow:root plugins /opt/opencrime/plugins
COPY --chown=airflow:root policy /opt/opencrime/policy
COPY --chown=airflow:root expectations /opt/opencrime/expectations
COPY --chown=airflow:root output_schemas /opt/opencrime/output_schemas
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
RUN uv pip install --no-cache --python "$(command -v python)" --no-deps -e /opt/opencrime

# GLIBC_TUNABLES: the allocator settings of transforms/plumbing/workers.py (why: there)
ENV OPENCRIME_DATA_ROOT=/opt/opencrime-data \
    GX_ANALYTICS_ENABLED=false \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
