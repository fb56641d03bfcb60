# Bettong in a container. The build stage makes the same artifact the package test installs
# (`npm pack`, then `npm install -g --prefix` of that tarball); the final stage holds only the
# installed prefix and runs it as an unprivileged user with its data on a volume.
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=skip npm_config_onnxruntime_node_install=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY bin ./bin
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
COPY console ./console
COPY testdata/models/digits_mlp.onnx ./testdata/models/digits_mlp.onnx
RUN npm pack --pack-destination /tmp/pack \
 && npm install -g --prefix /opt/bettong --no-audit --no-fund /tmp/pack/bettong-*.tgz

FROM node:20-bookworm-slim
# bubblewrap sandboxes custom (JavaScript/Python) steps; without it the server refuses custom code.
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap && rm -rf /var/lib/apt/lists/*
RUN groupadd --system bettong \
 && useradd --system --gid bettong --home-dir /var/lib/bettong --shell /usr/sbin/nologin bettong \
 && mkdir -p /var/lib/bettong && chown bettong:bettong /var/lib/bettong
COPY --from=build /opt/bettong /opt/bettong
# Outside loopback every request needs a token: auth is on. The admin's token is printed on the
# first start, or set it with BETTONG_ADMIN_TOKEN.
ENV PATH=/opt/bettong/bin:$PATH \
    BETTONG_DATA_DIR=/var/lib/bettong \
    BETTONG_HOST=0.0.0.0 \
    BETTONG_PORT=8080 \
    BETTONG_GRPC_PORT=8081 \
    BETTONG_AUTH=1 \
    NODE_ENV=production
VOLUME ["/var/lib/bettong"]
USER bettong
WORKDIR /var/lib/bettong
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.BETTONG_PORT || 8080) + '/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/opt/bettong/bin/bettong"]
CMD ["serve"]
