# Tierline: the Telegram bot by default; any other `tierline` command can be given.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TIERLINE_DB_PATH=/data/tierline.db

RUN useradd --create-home --uid 10001 tierline \
    && mkdir /data && chown tierline:tierline /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY config ./config
RUN pip install . && rm -rf /app/bot /app/flows

USER tierline
VOLUME ["/data"]
ENTRYPOINT ["tierline"]
CMD ["telegram"]
