// InferenceServer: the Open Inference Protocol v2 REST endpoints (KServe /
// Triton) over cpp-httplib, in front of the dynamic batcher.
//
//   GET  /v2                                        server metadata
//   GET  /v2/health/live, /v2/health/ready
//   GET  /v2/models/{name}[/versions/{v}]           model metadata
//   GET  /v2/models/{name}[/versions/{v}]/ready
//   POST /v2/models/{name}[/versions/{v}]/infer     JSON tensors, `id` echoed
//   GET  /v2/models/{name}[/versions/{v}]/stats     Triton statistics extension
//   GET  /metrics                                   Prometheus text
// Errors are {"error": "..."} with 400 (bad request: body, JSON, datatype,
// shape, element count -- checked against the model before anything runs),
// 401 (token), 404 (model/version/route), 500 (the model failed), 503 (queue
// full or timeout, with Retry-After).
//
// Safe by default: a non-loopback host needs a bearer token (create() refuses
// otherwise); with a token every endpoint needs "Authorization: Bearer T",
// compared in constant time. Socket read/write timeouts bound slow clients;
// no endpoint writes files or runs anything but inference.
//
// Hot swap: with a database and an environment, a watcher polls the store's
// active deployment of the served model in that environment and, when it
// changes (`deploy promote` / `rollback`), loads the new version and swaps it
// in. Requests already queued or running finish; later batches use the new
// version (responses carry its model_version).
#pragma once

#include "core/common/result.h"
#include "core/serve/batcher.h"
#include "core/serve/engine.h"
#include "core/serve/metrics.h"
#include "core/serve/monitor.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sb::serve {

struct ServerOptions
{
    std::string host = "127.0.0.1";
    int port = 8000;   // 0: any free port (see InferenceServer::port())
    std::string token; // empty: no authentication (loopback only)
    BatcherOptions batching;
    std::size_t maxBodyBytes = std::size_t(16) << 20;
    std::int64_t maxElements = 16'000'000; // per input tensor
    int timeoutMs = 30000;                 // a request waiting longer gets 503
    int httpThreads = 64;                  // connections served at once
    // Hot swap (both set): poll the active deployment of the model in `env`.
    std::filesystem::path database;
    std::string env;
    int pollMs = 500;
    int threads = 0;                                   // CPU threads of swapped-in engines
    const runtime::KernelRegistry *registry = nullptr; // for swapped-in engines
    std::function<void(const std::string &)> log;      // swap and error notes
};

bool isLoopbackHost(const std::string &host);
// Equal strings in time independent of where they differ.
bool constantTimeEquals(std::string_view a, std::string_view b);

class InferenceServer
{
public:
    // InvalidInput: a non-loopback host without a token, bad limits.
    // With `monitoring`, answered requests feed a Monitor (errors: its store
    // or reference data cannot be opened).
    static Result<std::unique_ptr<InferenceServer>>
    create(ServerOptions options, std::shared_ptr<Engine> engine,
           std::optional<MonitorOptions> monitoring = std::nullopt);
    ~InferenceServer();

    // Binds (Io error naming host:port when taken) and serves on background
    // threads. Returns the bound port.
    Result<int> start();
    // Stops accepting, answers what is queued, closes the monitor's window.
    void stop();
    bool running() const;
    int port() const { return m_port; }
    std::string url() const;

    std::shared_ptr<const Engine> engine() const;
    void swapEngine(std::shared_ptr<const Engine> engine);
    MetricsSnapshot snapshot() const;
    std::vector<store::MonitorAlertRecord> alerts() const;
    std::string prometheusText() const;

private:
    struct Impl;
    explicit InferenceServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
    int m_port = 0;
};

} // namespace sb::serve
