# Small static image: the binary, nothing else. rustls carries the Mozilla root
# certificates, so the empty base image needs no CA store.
#
#   docker build -t rekaz-proxy .
#   docker run --rm -e REKAZ_API_KEY -e REKAZ_API_SECRET -e REKAZ_TENANT_ID \
#       -e REKAZ_PROXY__LISTEN=0.0.0.0:8080 -p 127.0.0.1:8080:8080 rekaz-proxy

FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY config ./config
COPY src ./src
RUN cargo build --release --locked --bin rekaz-proxy \
    && cp target/release/rekaz-proxy /rekaz-proxy

FROM scratch
COPY --from=build /rekaz-proxy /rekaz-proxy
# An unprivileged user id; the image has no /etc/passwd, so it is numeric.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/rekaz-proxy"]
CMD ["run"]
