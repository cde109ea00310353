# One image for every service of docker-compose.yml (migrate, web, worker, beat).
#
# Stage 1 installs the dependencies, then the project, into a virtualenv at /opt/venv;
# stage 2 is a clean Python image with that virtualenv and nothing else: no compiler,
# no pip cache, no sources, no tests. It runs as an unprivileged user.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml alone: this layer stays cached until the
# dependency list changes, so editing the code rebuilds only the small layer below.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
 && pip install -r requirements.txt

# The project itself, as a regular (not editable) install: its packages, templates,
# migrations and the `newsletter` command land in the virtualenv.
COPY newsletter ./newsletter
COPY workers ./workers
COPY templates ./templates
COPY config ./config
RUN pip install --no-deps .

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSLETTER_VAR_DIR=/app/var
RUN groupadd --system --gid 10001 newsletter \
 && useradd --system --uid 10001 --gid newsletter --home-dir /app --shell /usr/sbin/nologin newsletter \
 && mkdir -p /app/var \
 && chown -R newsletter:newsletter /app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER newsletter:newsletter
EXPOSE 8000
CMD ["newsletter", "--help"]
