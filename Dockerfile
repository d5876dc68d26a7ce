FROM python:3.12-slim

RUN useradd --system --create-home --home-dir /var/lib/sluice sluice \
    && install -d -o sluice -m 700 /var/lib/sluice-audit  # the anchors volume: a new one takes this owner
WORKDIR /opt/sluice
COPY pyproject.toml README.md ./
COPY sluice ./sluice
COPY api ./api
COPY collector ./collector
COPY warehouse ./warehouse
COPY forwarder ./forwarder
COPY dashboard ./dashboard
COPY scanner ./scanner
COPY mail ./mail
RUN pip install --no-cache-dir .

USER sluice
ENV SLUICE_DATA_DIR=/var/lib/sluice
EXPOSE 8400 8401
ENTRYPOINT ["sluice"]
CMD ["serve"]
