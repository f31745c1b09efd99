# The product's one image: web (gunicorn), worker and beat (celery), the VK emulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# zoneinfo reads the system's tz database: colleges live from Kaliningrad to Kamchatka.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. The project installs for its
# dependencies only (packages = []), so pyproject.toml is all this step needs.
COPY pyproject.toml ./
RUN pip install --quiet . && rm -rf build ./*.egg-info

COPY . .
RUN useradd --system --home-dir /app epos && mkdir -p var/static && chown -R epos var
USER epos

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
