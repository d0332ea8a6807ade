# syncd container image: a static binary on distroless, run as non-root.
#
#   docker build -t syncd .
#   docker run --rm syncd --help
#
# The final image has CA certificates and time zone data (distroless/static)
# but no shell and no git: the audit's manifest_revision stays empty unless
# the manifests are mounted with their .git and a git binary is available
# (see README, "Ways to run it").

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/syncd ./cmd/syncd \
 && mkdir -p /out/state/spool

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/syncd /usr/local/bin/syncd
# The audit spool must survive restarts: mount a volume here in production.
COPY --from=build --chown=65532:65532 /out/state /var/lib/syncd
ENV SYNCD_MANIFESTS=/manifests \
    SYNCD_SPOOL_DIR=/var/lib/syncd/spool \
    SYNCD_LOG_FORMAT=json
WORKDIR /var/lib/syncd
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/syncd"]
CMD ["run", "--listen", "0.0.0.0:8080"]
