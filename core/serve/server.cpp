#include "core/serve/server.h"
#include "core/common/json_text.h"

#include "core/serve/tensor_json.h"
#include "core/store/store.h"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace sb::serve {

using nlohmann::json;

// cpp-httplib compresses a reply whose type is exactly "application/json"
// whenever the client accepts br or gzip (python-requests does once Brotli is
// installed): a 5 MB tensor reply took 93 s with Brotli, 8.5 s with gzip and
// 0.9 s plain on 2 busy cores. Inference replies go uncompressed; the charset
// form (JSON is UTF-8) is outside the library's compressible list.
constexpr const char *kJsonContentType = "application/json; charset=utf-8";

bool isLoopbackHost(const std::string &host)
{
    if (host == "localhost" || host == "::1" || host == "[::1]")
        return true;
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return false;
}

bool constantTimeEquals(std::string_view a, std::string_view b)
{
    // Touch every byte of the longer string whatever the contents are.
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    volatile unsigned char sink = diff;
    return sink == 0;
}

struct InferenceServer::Impl
{
    ServerOptions options;
    ServeMetrics metrics;
    mutable std::mutex engineMutex;
    std::shared_ptr<const Engine> engine;
    std::unique_ptr<Monitor> monitor;
    std::unique_ptr<Batcher> batcher;
    httplib::Server http;
    std::thread listener;
    std::thread watcher;
    std::mutex watchMutex;
    std::condition_variable watchWake;
    std::atomic<bool> stopping{false};
    std::atomic<bool> listening{false};
    std::atomic<std::uint64_t> requestCounter{0};

    std::shared_ptr<const Engine> current() const
    {
        std::lock_guard lock(engineMutex);
        return engine;
    }
    void log(const std::string &text) const
    {
        if (options.log)
            options.log(text);
    }

    static void reply(httplib::Response &res, int status, const json &body)
    {
        res.status = status;
        res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                        kJsonContentType);
    }
    static void error(httplib::Response &res, int status, const std::string &message)
    {
        reply(res, status, json{{"error", message}});
        if (status == 503)
            res.set_header("Retry-After", "1");
    }

    bool authorized(const httplib::Request &req, httplib::Response &res) const
    {
        if (options.token.empty())
            return true;
        const std::string header = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        const bool ok =
            header.size() > prefix.size() && header.compare(0, prefix.size(), prefix) == 0 &&
            constantTimeEquals(std::string_view(header).substr(prefix.size()), options.token);
        if (!ok) {
            error(res, 401, "missing or wrong bearer token");
            res.set_header("WWW-Authenticate", "Bearer");
        }
        return ok;
    }

    // The engine when {name}[/versions/{v}] names the served model, else a 404.
    std::shared_ptr<const Engine> resolve(const httplib::Request &req, httplib::Response &res) const
    {
        auto e = current();
        const std::string name = req.matches.size() > 1 ? std::string(req.matches[1]) : "";
        const std::string version =
            req.matches.size() > 2 && req.matches[2].matched ? std::string(req.matches[2]) : "";
        if (!e || name != e->name()) {
            error(res, 404, "unknown model '" + name + "'");
            return nullptr;
        }
        if (!version.empty() && version != e->version()) {
            error(res, 404,
                  "model '" + name + "' has no version '" + version +
                      "' being served (serving version " + e->version() + ")");
            return nullptr;
        }
        return e;
    }

    static json ioJson(const IoInfo &io)
    {
        return {{"name", io.name},
                {"datatype", datatypeName(io.info.type)},
                {"shape", protocolShape(io.info.shape)}};
    }

    void handleInfer(const httplib::Request &req, httplib::Response &res);
    void watch();
};

void InferenceServer::Impl::handleInfer(const httplib::Request &req, httplib::Response &res)
{
    const auto started = std::chrono::steady_clock::now();
    auto elapsedUs = [&] {
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
            .count();
    };
    auto fail = [&](int status, const std::string &reason, const std::string &message) {
        metrics.recordFailure(reason, elapsedUs());
        error(res, status, message);
    };
    if (!authorized(req, res))
        return;
    auto e = resolve(req, res);
    if (!e)
        return;
    if (req.body.size() > options.maxBodyBytes)
        return fail(400, "OTHER",
                    "request body of " + std::to_string(req.body.size()) +
                        " bytes exceeds the limit of " + std::to_string(options.maxBodyBytes));
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
        return fail(400, "OTHER", "the body is not a JSON object");
    if (!body.contains("inputs") || !body["inputs"].is_array())
        return fail(400, "OTHER", "\"inputs\" must be an array of tensors");
    InferenceJob job;
    if (body.contains("id")) {
        if (!body["id"].is_string())
            return fail(400, "OTHER", "\"id\" must be a string");
        job.requestId = body["id"].get<std::string>();
    }
    std::map<std::string, std::int64_t> symbols; // symbolic dim -> size, across inputs
    for (const json &input : body["inputs"]) {
        const std::string name =
            input.is_object() && input.contains("name") && input["name"].is_string()
                ? input["name"].get<std::string>()
                : std::string();
        const IoInfo *io = e->findInput(name);
        if (!io)
            return fail(
                400, "OTHER", "unknown input '" + name + "' (the model takes " + [&] {
                    std::string names;
                    for (const auto &i : e->inputs())
                        names += (names.empty() ? "" : ", ") + i.name;
                    return names;
                }() + ")");
        if (job.inputs.count(name))
            return fail(400, "OTHER", "input '" + name + "' given twice");
        auto tensor = tensorFromJson(input, io->info, options.maxElements);
        if (!tensor)
            return fail(400, "OTHER", tensor.error().message);
        const auto &dims = io->info.shape.dims;
        for (std::size_t d = 0; d < dims.size() && d < tensor->rank(); ++d) {
            if (dims[d].symbol.empty())
                continue;
            auto [it, inserted] = symbols.emplace(dims[d].symbol, tensor->dim(d));
            if (!inserted && it->second != tensor->dim(d))
                return fail(400, "OTHER",
                            "input '" + name + "': dim '" + dims[d].symbol + "' is " +
                                std::to_string(tensor->dim(d)) + " here but " +
                                std::to_string(it->second) + " in another input");
        }
        job.inputs[name] = std::move(*tensor);
    }
    for (const IoInfo &io : e->inputs())
        if (!job.inputs.count(io.name))
            return fail(400, "OTHER", "missing input '" + io.name + "'");
    std::set<std::string> wanted;
    if (body.contains("outputs")) {
        if (!body["outputs"].is_array())
            return fail(400, "OTHER", "\"outputs\" must be an array");
        for (const json &o : body["outputs"]) {
            const std::string name = o.is_object() && o.contains("name") && o["name"].is_string()
                                         ? o["name"].get<std::string>()
                                         : std::string();
            bool known = false;
            for (const IoInfo &io : e->outputs())
                known = known || io.name == name;
            if (!known)
                return fail(400, "OTHER", "unknown output '" + name + "'");
            wanted.insert(name);
        }
    }
    const auto &first = job.inputs.begin()->second;
    job.rows = e->batchable() && first.rank() > 0 ? first.dim(0) : 1;
    if (job.requestId.empty())
        job.requestId = "sb-" + std::to_string(++requestCounter);
    const std::string requestId = job.requestId;
    const bool echoId = body.contains("id");
    auto submitted = batcher->submit(std::move(job));
    if (!submitted)
        return fail(503, "REJECTED", submitted.error().message);
    auto &future = *submitted;
    if (future.wait_for(std::chrono::milliseconds(options.timeoutMs)) != std::future_status::ready)
        return fail(503, "CANCELED",
                    "no answer within " + std::to_string(options.timeoutMs) + " ms; retry later");
    JobOutcome outcome = future.get();
    if (!outcome.ok)
        return fail(500, "BACKEND", outcome.error);
    json response;
    response["model_name"] = outcome.engine->name();
    response["model_version"] = outcome.engine->version();
    if (echoId)
        response["id"] = requestId;
    response["outputs"] = json::array();
    for (const IoInfo &io : outcome.engine->outputs()) {
        if (!wanted.empty() && !wanted.count(io.name))
            continue;
        auto it = outcome.outputs.find(io.name);
        if (it != outcome.outputs.end())
            response["outputs"].push_back(tensorToJson(io.name, it->second));
    }
    metrics.recordSuccess(elapsedUs());
    reply(res, 200, response);
}

void InferenceServer::Impl::watch()
{
    auto opened = store::Store::open(options.database);
    if (!opened) {
        log("hot swap disabled: " + opened.error().message);
        return;
    }
    auto &db = **opened;
    std::set<store::Id> refused;
    for (;;) {
        {
            std::unique_lock lock(watchMutex);
            watchWake.wait_for(lock, std::chrono::milliseconds(options.pollMs),
                               [&] { return stopping.load(); });
            if (stopping)
                return;
        }
        auto e = current();
        if (!e)
            continue;
        auto active = db.deployments().active(e->name(), options.env);
        if (!active || !*active)
            continue;
        if (e->spec().modelVersionId && *e->spec().modelVersionId == (*active)->modelVersionId)
            continue;
        auto version = db.models().versionById((*active)->modelVersionId);
        if (!version) {
            log("hot swap: " + version.error().message);
            continue;
        }
        EngineSpec spec = e->spec();
        spec.model = version->filePath;
        spec.version = std::to_string(version->version);
        spec.modelVersionId = version->id;
        spec.threads = options.threads;
        if (refused.count(version->id))
            continue; // tried and failed already; waits for the next deployment change
        auto loaded = Engine::load(spec, *options.registry);
        if (!loaded) {
            log("hot swap to " + version->label() + " refused: " + loaded.error().message);
            refused.insert(version->id);
            continue;
        }
        {
            std::lock_guard lock(engineMutex);
            engine = *loaded;
        }
        log("swapped " + e->name() + ":" + e->version() + " -> " + version->label() + " (" +
            options.env + ")");
    }
}

InferenceServer::InferenceServer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

InferenceServer::~InferenceServer()
{
    stop();
}

Result<std::unique_ptr<InferenceServer>>
InferenceServer::create(ServerOptions options, std::shared_ptr<Engine> engine,
                        std::optional<MonitorOptions> monitoring)
{
    if (!isLoopbackHost(options.host) && options.token.empty())
        return makeError(ErrorCode::InvalidInput,
                         "refusing to listen on " + options.host +
                             " without a bearer token: pass --token-file FILE (or bind "
                             "127.0.0.1)");
    if (options.port < 0 || options.port > 65535)
        return makeError(ErrorCode::InvalidInput, "--port must be 0..65535");
    if (options.batching.maxBatch < 1 || options.batching.maxQueue < 1 ||
        options.batching.maxDelayMs < 0)
        return makeError(ErrorCode::InvalidInput,
                         "--max-batch and --max-queue must be >= 1, --max-delay-ms >= 0");
    if (!engine)
        return makeError(ErrorCode::InvalidInput, "no model to serve");
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    impl->engine = std::move(engine);
    Impl *self = impl.get();
    if (monitoring) {
        SB_ASSIGN_OR_RETURN(impl->monitor, Monitor::create(std::move(*monitoring), impl->metrics));
    }
    impl->batcher = std::make_unique<Batcher>(
        self->options.batching, [self] { return self->current(); }, self->metrics,
        [self](const InferenceJob &job, const JobOutcome &outcome) {
            if (self->monitor)
                self->monitor->observe(job, outcome);
        });

    auto &http = impl->http;
    const int threads = std::max(4, self->options.httpThreads);
    http.new_task_queue = [threads] {
        return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
    http.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http.set_tcp_nodelay(true); // small JSON answers: no Nagle + delayed-ACK stalls
    http.set_keep_alive_max_count(100000);
    http.set_keep_alive_timeout(5);
    http.set_read_timeout(10, 0);
    http.set_write_timeout(10, 0);
    http.set_idle_interval(0, 100000);
    // Bodies up to 4x the limit are read so the client gets a clean 400 that
    // names the limit; beyond that the library answers 413 without reading.
    http.set_payload_max_length(self->options.maxBodyBytes * 4 + 4096);
    http.set_error_handler([](const httplib::Request &, httplib::Response &res) {
        if (res.body.empty()) {
            const char *what = res.status == 404   ? "no such endpoint"
                               : res.status == 413 ? "request body too large"
                                                   : "bad request";
            res.set_content(sb::jsonText(json{{"error", what}}), kJsonContentType);
        }
    });

    const std::string model = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
    http.Get("/v2", [self](const httplib::Request &req, httplib::Response &res) {
        if (!self->authorized(req, res))
            return;
        Impl::reply(res, 200,
                    {{"name", "shardbench"},
                     {"version", SHARDBENCH_VERSION},
                     {"extensions", json::array({"model_repository_statistics", "metrics"})}});
    });
    http.Get("/v2/health/live", [self](const httplib::Request &req, httplib::Response &res) {
        if (!self->authorized(req, res))
            return;
        Impl::reply(res, 200, {{"live", true}});
    });
    http.Get("/v2/health/ready", [self](const httplib::Request &req, httplib::Response &res) {
        if (!self->authorized(req, res))
            return;
        const bool ready = self->current() && !self->stopping;
        Impl::reply(res, ready ? 200 : 503, {{"ready", ready}});
    });
    http.Get(model + "/ready", [self](const httplib::Request &req, httplib::Response &res) {
        if (!self->authorized(req, res))
            return;
        auto e = self->resolve(req, res);
        if (!e)
            return;
        Impl::reply(res, 200, {{"name", e->name()}, {"ready", !self->stopping.load()}});
    });
    http.Get(model + "/stats", [self](const httplib::Request &req, httplib::Response &res) {
        if (!self->authorized(req, res))
            return;
        auto e = self->resolve(req, res);
        if (!e)
            return;
        Impl::reply(res, 200, self->metrics.statisticsJson(e->name(), e->version()));
    });
    http.Get(model, [self](const httplib::Request &req, httplib::Response &res) {
        if (!self->authorized(req, res))
            return;
        auto e = self->resolve(req, res);
        if (!e)
            return;
        json inputs = json::array(), outputs = json::array();
        for (const auto &io : e->inputs())
            inputs.push_back(Impl::ioJson(io));
        for (const auto &io : e->outputs())
            outputs.push_back(Impl::ioJson(io));
        Impl::reply(res, 200,
                    {{"name", e->name()},
                     {"versions", json::array({e->version()})},
                     {"platform", "onnx_onnxv1"},
                     {"inputs", inputs},
                     {"outputs", outputs}});
    });
    http.Post(model + "/infer", [self](const httplib::Request &req, httplib::Response &res) {
        self->handleInfer(req, res);
    });
    http.Get("/metrics", [self](const httplib::Request &req, httplib::Response &res) {
        if (!self->authorized(req, res))
            return;
        auto e = self->current();
        self->metrics.setQueueDepth(self->batcher->queueDepth());
        res.set_content(self->metrics.prometheusText(e ? e->name() : "", e ? e->version() : ""),
                        "text/plain; version=0.0.4");
    });
    return std::unique_ptr<InferenceServer>(new InferenceServer(std::move(impl)));
}

Result<int> InferenceServer::start()
{
    auto &impl = *m_impl;
    std::string host = impl.options.host;
    if (host == "[::1]")
        host = "::1";
    if (host.find(':') != std::string::npos)
        impl.http.set_address_family(AF_INET6);
    if (impl.options.port == 0) {
        m_port = impl.http.bind_to_any_port(host);
        if (m_port < 0)
            return makeError(ErrorCode::Io, "cannot bind " + host + " (any port)");
    } else {
        if (!impl.http.bind_to_port(host, impl.options.port))
            return makeError(ErrorCode::Io, "cannot bind " + host + ":" +
                                                std::to_string(impl.options.port) +
                                                " (in use or not an address of this machine)");
        m_port = impl.options.port;
    }
    impl.listening = true;
    impl.listener = std::thread([&impl] {
        impl.http.listen_after_bind();
        impl.listening = false;
    });
    if (!impl.options.database.empty() && !impl.options.env.empty() && impl.options.registry)
        impl.watcher = std::thread([&impl] { impl.watch(); });
    return m_port;
}

void InferenceServer::stop()
{
    if (!m_impl)
        return;
    auto &impl = *m_impl;
    if (impl.stopping.exchange(true))
        return;
    impl.watchWake.notify_all();
    if (impl.watcher.joinable())
        impl.watcher.join();
    impl.http.stop();
    if (impl.listener.joinable())
        impl.listener.join();
    impl.batcher->stop();
    if (impl.monitor)
        impl.monitor->stop();
}

bool InferenceServer::running() const
{
    return m_impl->listening && !m_impl->stopping;
}

std::string InferenceServer::url() const
{
    const std::string &host = m_impl->options.host;
    const bool v6 = host.find(':') != std::string::npos && host.front() != '[';
    return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(m_port);
}

std::shared_ptr<const Engine> InferenceServer::engine() const
{
    return m_impl->current();
}

void InferenceServer::swapEngine(std::shared_ptr<const Engine> engine)
{
    std::lock_guard lock(m_impl->engineMutex);
    m_impl->engine = std::move(engine);
}

MetricsSnapshot InferenceServer::snapshot() const
{
    m_impl->metrics.setQueueDepth(m_impl->batcher->queueDepth());
    return m_impl->metrics.snapshot();
}

std::vector<store::MonitorAlertRecord> InferenceServer::alerts() const
{
    return m_impl->monitor ? m_impl->monitor->alerts() : std::vector<store::MonitorAlertRecord>{};
}

std::string InferenceServer::prometheusText() const
{
    auto e = m_impl->current();
    return m_impl->metrics.prometheusText(e ? e->name() : "", e ? e->version() : "");
}

} // namespace sb::serve
