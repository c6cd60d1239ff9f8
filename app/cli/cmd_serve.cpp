// `shardbench-cli serve (NAME:VERSION | --env ENV | MODEL.onnx) [--plan PLAN.json] ...`:
// the Open Inference Protocol v2 REST server (core/serve) in front of the
// engine, with dynamic batching, live metrics, online monitoring and hot swap.
#include "app/cli/command.h"
#include "app/cli/store_cli.h"

#include "core/common/paths.h"
#include "core/serve/server.h"
#include "kernels/registry.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace sb::cli {
namespace {

std::atomic<bool> g_stop{false};

void onSignal(int)
{
    g_stop = true;
}

Result<std::string> readToken(const std::string &path)
{
    std::ifstream file(path);
    if (!file)
        return makeError(ErrorCode::InvalidInput, "cannot read token file " + path);
    std::stringstream text;
    text << file.rdbuf();
    std::string token = text.str();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
        token.pop_back();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front())))
        token.erase(token.begin());
    if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos)
        return makeError(ErrorCode::InvalidInput,
                         path + ": the token file must hold one token (no spaces)");
    return token;
}

bool looksLikeFile(const std::string &text)
{
    return text.size() > 5 && text.substr(text.size() - 5) == ".onnx";
}

int runServe(Args &args)
{
    ArgSpec spec(
        "serve (NAME:VERSION | --env ENV | MODEL.onnx) [--plan PLAN.json] [--host 127.0.0.1] "
        "[--port 8000] [--token-file FILE] [--max-batch N] [--max-delay-ms D] [--max-queue N] "
        "[--name NAME] [--db PATH]",
        "Serve a model over the Open Inference Protocol v2 REST API (KServe/Triton clients\n"
        "work): GET /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME[/versions/V],\n"
        ".../ready, .../stats, POST .../infer, GET /metrics (Prometheus). A registered\n"
        "version is served under its model name, a bare file under its file stem unless\n"
        "--name says otherwise. --env serves the version active in ENV and swaps models\n"
        "when `deploy promote`/`rollback` changes it, without failing requests in flight.\n"
        "Requests are merged up to --max-batch rows within --max-delay-ms (dynamic\n"
        "batching) and run through the same engine as `run` (with --plan: the pipeline\n"
        "runner, like `run --plan`). Stops cleanly on SIGINT/SIGTERM (or --duration).");
    spec.positional("NAME:VERSION|MODEL.onnx", "registered version or model file", false);
    spec.option("env", "ENV", "serve the version active in this environment (hot swap)");
    spec.option("plan", "PLAN.json", "run through this plan's pipeline stages");
    spec.option("host", "HOST", "address to bind; not loopback needs --token-file", "127.0.0.1");
    spec.option("port", "PORT", "port (0 = any free port, printed at start)", "8000");
    spec.option("token-file", "FILE", "bearer token clients must send (Authorization header)");
    spec.option("max-batch", "N", "most rows per engine run (1 = no batching)", "8");
    spec.option("max-delay-ms", "D", "how long a request waits for others to batch with", "2");
    spec.option("max-queue", "N", "requests waiting at most; more get 503 + Retry-After", "256");
    spec.option("name", "NAME", "model name to serve a file under (default: its stem)");
    spec.option("threads", "N", "CPU threads without a plan (0 = all cores)", "0");
    spec.option("max-body-bytes", "N", "largest request body accepted (400 above)", "16777216");
    spec.option("timeout-ms", "MS", "longest wait for an answer before 503", "30000");
    spec.option("http-threads", "N", "connections served at once", "64");
    spec.option("reference", "R.csv",
                "monitoring: reference data for drift (default: the reference file of the\n"
                "version's latest drift snapshot)");
    spec.option("columns", "A,B|A..B",
                "monitoring: reference columns naming the flattened input values, in order");
    spec.option("monitor-window", "N", "monitoring: rows per window", "100");
    spec.option("dataset-share", "S", "monitoring: share of drifted columns for dataset drift",
                "0.5");
    spec.multi("trigger", "NAME=RULE",
               "monitoring: alert rule (repeatable; replaces the defaults):\n"
               "drift=drifted_windows.last_3 >= 2, accuracy=estimated_accuracy < 0.9,\n"
               "errors=error_rate > 0.05");
    spec.flag("no-monitor", "do not record monitoring windows");
    spec.option("duration", "S", "stop by itself after S seconds (0 = run until a signal)", "0");
    addStoreOptions(spec);
    spec.epilog(
        "Monitoring (a registered version, or --db given): windows of --monitor-window rows\n"
        "go to the store with drift vs the reference (same engine and defaults as `drift`),\n"
        "the confidence-based accuracy estimate for classifiers (CBPE: valid only when the\n"
        "model is calibrated), a PII-masked sample and every prediction for `feedback`.\n"
        "Trigger metrics: share_drifted, dataset_drift, estimated_accuracy, error_rate,\n"
        "requests, rows, drifted_windows.last_N. Alerts land in the audit log and fail\n"
        "`monitor --gate`. Exit: 0 after a clean stop, 2 bad input (a non-loopback --host\n"
        "without --token-file, unknown version, invalid plan), 1 cannot bind.");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const std::string command = args.command;
    auto usage = [&](const std::string &message) {
        return reportError(command, makeError(ErrorCode::InvalidInput, message));
    };
    const bool byEnv = parsed.has("env");
    if (parsed.positional.empty() == !byEnv)
        return usage("give exactly one of NAME:VERSION, MODEL.onnx or --env ENV");

    serve::ServerOptions options;
    options.host = parsed.get("host", "127.0.0.1");
    if (parsed.has("token-file")) {
        auto token = readToken(parsed.get("token-file"));
        if (!token)
            return reportError(command, token.error());
        options.token = *token;
    }
    if (!serve::isLoopbackHost(options.host) && options.token.empty())
        return usage("refusing to listen on " + options.host +
                     " without a bearer token: pass --token-file FILE (or bind 127.0.0.1)");
    struct IntOption
    {
        const char *name;
        long long fallback, min;
        long long value = 0;
    };
    IntOption ints[] = {{"port", 8000, 0},
                        {"max-batch", 8, 1},
                        {"max-queue", 256, 1},
                        {"threads", 0, 0},
                        {"max-body-bytes", 16 << 20, 1},
                        {"timeout-ms", 30000, 1},
                        {"http-threads", 64, 1},
                        {"monitor-window", 100, 1},
                        {"duration", 0, 0}};
    for (auto &option : ints) {
        auto value = parsed.getInt(option.name, option.fallback);
        if (!value)
            return reportError(command, value.error());
        if (*value < option.min)
            return usage(std::string("--") + option.name +
                         " must be >= " + std::to_string(option.min));
        option.value = *value;
    }
    if (ints[0].value > 65535)
        return usage("--port must be 0..65535");
    auto delay = parsed.getDouble("max-delay-ms", 2.0);
    if (!delay)
        return reportError(command, delay.error());
    auto share = parsed.getDouble("dataset-share", 0.5);
    if (!share)
        return reportError(command, share.error());
    options.port = static_cast<int>(ints[0].value);
    options.batching.maxBatch = static_cast<int>(ints[1].value);
    options.batching.maxQueue = static_cast<int>(ints[2].value);
    options.batching.maxDelayMs = *delay;
    options.threads = static_cast<int>(ints[3].value);
    options.maxBodyBytes = static_cast<std::size_t>(ints[4].value);
    options.timeoutMs = static_cast<int>(ints[5].value);
    options.httpThreads = static_cast<int>(ints[6].value);
    options.registry = &kernels::defaultRegistry();
    options.log = [command](const std::string &text) {
        std::cerr << "shardbench-cli " << command << ": " << text << "\n";
    };

    // What to serve.
    serve::EngineSpec engineSpec;
    engineSpec.threads = options.threads;
    if (parsed.has("plan"))
        engineSpec.plan = parsed.get("plan");
    const std::string dbPath = parsed.get("db", defaultDatabasePath().string());
    std::unique_ptr<store::Store> db;
    std::optional<std::filesystem::path> versionReference;
    const bool fromFile = !byEnv && looksLikeFile(parsed.positional.front()) &&
                          std::filesystem::exists(parsed.positional.front());
    if (fromFile) {
        engineSpec.model = parsed.positional.front();
        engineSpec.name = parsed.has("name")
                              ? parsed.get("name")
                              : std::filesystem::path(engineSpec.model).stem().string();
    } else {
        if (!byEnv && looksLikeFile(parsed.positional.front()))
            return reportError(command, makeError(ErrorCode::NotFound,
                                                  parsed.positional.front() + ": no such file"));
        int exitCode = 0;
        db = openStoreOrReport(parsed, command, &exitCode);
        if (!db)
            return exitCode;
        store::ModelVersionRecord version;
        if (byEnv) {
            const std::string env = parsed.get("env");
            auto active = db->deployments().activeInEnv(env);
            if (!active)
                return reportError(command, active.error());
            std::vector<std::pair<std::string, store::DeploymentRecord>> candidates;
            for (auto &entry : *active)
                if (!parsed.has("name") || entry.first == parsed.get("name"))
                    candidates.push_back(entry);
            if (candidates.empty())
                return reportError(
                    command,
                    makeError(ErrorCode::NotFound,
                              "no model is deployed to '" + env + "'" +
                                  (parsed.has("name") ? " under the name " + parsed.get("name")
                                                      : std::string())));
            if (candidates.size() > 1) {
                std::string names;
                for (const auto &c : candidates)
                    names += " " + c.first;
                return usage("several models are deployed to '" + env +
                             "'; pick one with --name:" + names);
            }
            auto found = db->models().versionById(candidates.front().second.modelVersionId);
            if (!found)
                return reportError(command, found.error());
            version = *found;
            options.database = dbPath;
            options.env = env;
        } else {
            auto found = db->resolveVersion(parsed.positional.front());
            if (!found)
                return reportError(command, found.error());
            version = *found;
        }
        engineSpec.model = version.filePath;
        engineSpec.name = version.modelName;
        engineSpec.version = std::to_string(version.version);
        engineSpec.modelVersionId = version.id;
        auto reference = serve::versionReference(*db, version.id);
        if (reference && *reference)
            versionReference = **reference;
    }
    auto engine = serve::Engine::load(engineSpec, kernels::defaultRegistry());
    if (!engine)
        return reportError(command, engine.error());

    // Monitoring.
    std::optional<serve::MonitorOptions> monitoring;
    if (!parsed.flag("no-monitor") && (!fromFile || parsed.has("db"))) {
        serve::MonitorOptions m;
        m.database = dbPath;
        m.env = options.env;
        if (parsed.has("reference"))
            m.reference = parsed.get("reference");
        else if (versionReference)
            m.reference = *versionReference;
        m.columns = parsed.get("columns");
        m.windowRows = static_cast<int>(ints[7].value);
        m.datasetShare = *share;
        if (parsed.has("trigger")) {
            m.triggers.clear();
            for (const std::string &text : parsed.all("trigger")) {
                auto trigger = serve::parseTrigger(text);
                if (!trigger)
                    return reportError(command, trigger.error());
                m.triggers.push_back(std::move(*trigger));
            }
        }
        monitoring = std::move(m);
    }
    db.reset();

    auto server = serve::InferenceServer::create(options, *engine, std::move(monitoring));
    if (!server)
        return reportError(command, server.error());
    auto port = (*server)->start();
    if (!port) {
        std::cerr << "shardbench-cli " << command << ": " << port.error().message << "\n";
        return kExitFailure;
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::cout << "serving " << (*engine)->name() << " version " << (*engine)->version() << " at "
              << (*server)->url() << (options.env.empty() ? "" : " (env " + options.env + ")")
              << std::endl;
    const auto started = std::chrono::steady_clock::now();
    const long long duration = ints[8].value;
    while (!g_stop && (*server)->running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (duration > 0 &&
            std::chrono::steady_clock::now() - started > std::chrono::seconds(duration))
            break;
    }
    (*server)->stop();
    const auto snap = (*server)->snapshot();
    std::cerr << "shardbench-cli " << command << ": stopped after " << snap.success
              << " answered and " << snap.failure << " failed requests, " << snap.alerts
              << " alerts\n";
    return kExitOk;
}

const CommandRegistrar registrar{
    "serve", "Serve a model over the Open Inference Protocol (KServe/Triton v2 REST)", runServe};

} // namespace
} // namespace sb::cli
