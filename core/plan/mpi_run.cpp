#include "core/plan/mpi_run.h"
#include "core/common/json_text.h"

#include "core/common/sha256.h"
#include "core/common/stats.h"
#include "core/graph/onnx_import.h"
#include "core/plan/devices.h"
#include "core/plan/tensor_parallel.h"
#include "core/runtime/device.h"
#include "core/runtime/executor.h"
#include "core/runtime/host_gate.h"
#include "core/runtime/mpi_world.h"
#include "core/runtime/tensor_io.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <random>
#include <regex>
#include <sched.h>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace sb::plan {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string hostName()
{
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return host;
}

Result<int> parseSlots(const std::string &text, const std::string &where)
{
    if (text.empty() || text.size() > 5 ||
        text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < 1)
        return makeError(ErrorCode::InvalidInput,
                         where + ": slots '" + text + "' is not a positive number");
    return std::stoi(text);
}

Status checkHostName(const std::string &host, const std::string &where)
{
    if (host.empty() || host.find_first_of(" \t,;/'\"\\$`") != std::string::npos || host[0] == '-')
        return makeError(ErrorCode::InvalidInput, where + ": '" + host + "' is not a host name");
    return {};
}

} // namespace

Result<std::vector<HostSlots>> parseHostList(const std::string &text)
{
    std::vector<HostSlots> hosts;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.empty())
            continue;
        HostSlots host;
        host.host = item;
        if (auto colon = item.rfind(':'); colon != std::string::npos && item.find(':') == colon) {
            host.host = item.substr(0, colon);
            SB_ASSIGN_OR_RETURN(host.slotCount,
                                parseSlots(item.substr(colon + 1), "--hosts " + item));
        }
        SB_TRY(checkHostName(host.host, "--hosts"));
        hosts.push_back(host);
    }
    if (hosts.empty())
        return makeError(ErrorCode::InvalidInput, "--hosts: no hosts in '" + text + "'");
    return hosts;
}

Result<std::vector<HostSlots>> readHostfile(const std::filesystem::path &path)
{
    std::ifstream in(path);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot read hostfile");
    std::vector<HostSlots> hosts;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::string where = path.string() + ":" + std::to_string(number);
        if (auto hash = line.find('#'); hash != std::string::npos)
            line.resize(hash);
        std::stringstream words(line);
        std::string word;
        if (!(words >> word))
            continue;
        HostSlots host;
        host.host = word;
        if (auto colon = word.find(':'); colon != std::string::npos) {
            host.host = word.substr(0, colon);
            SB_ASSIGN_OR_RETURN(host.slotCount, parseSlots(word.substr(colon + 1), where));
        }
        SB_TRY(checkHostName(host.host, where));
        while (words >> word) {
            if (word.rfind("slots=", 0) == 0) {
                SB_ASSIGN_OR_RETURN(host.slotCount, parseSlots(word.substr(6), where));
            } else if (word.rfind("max_slots=", 0) != 0)
                return makeError(ErrorCode::InvalidInput,
                                 where + ": unknown hostfile word '" + word + "'");
        }
        hosts.push_back(host);
    }
    if (hosts.empty())
        return makeError(ErrorCode::InvalidInput, path.string() + ": no hosts in the hostfile");
    return hosts;
}

bool isLocalHost(const std::string &host)
{
    return host == "localhost" || host == "127.0.0.1" || host == "::1" || host == hostName();
}

std::vector<HostSlots> hostsForPlan(const Plan &plan)
{
    std::vector<HostSlots> hosts{{"localhost", 0}};
    std::set<std::string> used;
    for (const auto &[node, device] : plan.assignment)
        used.insert(device);
    for (const std::string &id : used) {
        auto address = runtime::parseDeviceId(id);
        if (!address)
            continue;
        if (!address->isRemote() || isLocalHost(address->host)) {
            ++hosts.front().slotCount;
            continue;
        }
        auto it = std::find_if(hosts.begin(), hosts.end(),
                               [&](const HostSlots &h) { return h.host == address->host; });
        if (it == hosts.end())
            hosts.push_back({address->host, 1});
        else
            ++it->slotCount;
    }
    hosts.front().slotCount = std::max(1, hosts.front().slotCount);
    return hosts;
}

bool planHasRemoteDevices(const Plan &plan)
{
    for (const auto &[node, device] : plan.assignment)
        if (auto address = runtime::parseDeviceId(device); address && address->isRemote())
            return true;
    return false;
}

std::string MpiLayout::describeRank(int rank) const
{
    std::string text = "rank " + std::to_string(rank);
    if (rank < 0 || rank >= ranks())
        return text;
    text += " (host " + rankHost[static_cast<std::size_t>(rank)];
    std::vector<std::string> stages;
    for (std::size_t s = 0; s < stageRank.size(); ++s)
        if (stageRank[s] == rank)
            stages.push_back(std::to_string(s) + " on " + stageDevice[s]);
    for (std::size_t k = 0; k < shardRank.size(); ++k)
        if (shardRank[k] == rank)
            stages.push_back("shard on " + shardDevice[k]);
    if (stages.empty())
        text += ", the driver";
    for (std::size_t i = 0; i < stages.size(); ++i)
        text += (i ? ", stage " : ", stage ") + stages[i];
    return text + ")";
}

Result<MpiLayout> layoutStages(const Plan &plan, const StageGraph &stages,
                               const std::vector<HostSlots> &hosts)
{
    if (hosts.empty())
        return makeError(ErrorCode::InvalidInput, "no hosts for the MPI launcher");
    if (!isLocalHost(hosts.front().host))
        return makeError(ErrorCode::InvalidInput,
                         "the first host (" + hosts.front().host +
                             ") runs rank 0, the driver, which reads the plan and inputs and "
                             "writes the outputs: it must be this machine (localhost or " +
                             hostName() + ")");
    // Host index of every stage's device.
    auto hostIndex = [&](const std::string &name) -> int {
        for (std::size_t h = 0; h < hosts.size(); ++h)
            if (hosts[h].host == name || (h == 0 && isLocalHost(name)))
                return static_cast<int>(h);
        return -1;
    };
    MpiLayout layout;
    std::vector<std::vector<std::string>> devicesOnHost(hosts.size());
    std::vector<int> stageHost, shardHost;
    const auto groups = tensorParallelDevices(plan);
    for (const Stage &stage : stages.stages) {
        auto group = groups.find(stage.device);
        if (group == groups.end())
            continue;
        for (std::size_t i = 1; i < group->second.size(); ++i) {
            const std::string &device = group->second[i];
            SB_ASSIGN_OR_RETURN(runtime::DeviceAddress address, runtime::parseDeviceId(device));
            int h = address.isRemote() ? hostIndex(address.host) : 0;
            if (h < 0)
                return makeError(ErrorCode::InvalidInput,
                                 "device " + device + " is on host " + address.host +
                                     ", which is not in --hosts / the hostfile");
            shardHost.push_back(h);
            layout.shardDevice.push_back(device);
            layout.shardLocalDevice.push_back(address.localId());
        }
    }
    for (const Stage &stage : stages.stages) {
        SB_ASSIGN_OR_RETURN(runtime::DeviceAddress address, runtime::parseDeviceId(stage.device));
        int h = address.isRemote() ? hostIndex(address.host) : 0;
        if (h < 0)
            return makeError(ErrorCode::InvalidInput,
                             "device " + stage.device + " is on host " + address.host +
                                 ", which is not in --hosts / the hostfile");
        auto &list = devicesOnHost[static_cast<std::size_t>(h)];
        if (std::find(list.begin(), list.end(), stage.device) == list.end())
            list.push_back(stage.device);
        stageHost.push_back(h);
        layout.stageDevice.push_back(stage.device);
        layout.stageLocalDevice.push_back(address.localId());
    }
    for (std::size_t i = 0; i < shardHost.size(); ++i) {
        auto &list = devicesOnHost[static_cast<std::size_t>(shardHost[i])];
        if (std::find(list.begin(), list.end(), layout.shardDevice[i]) == list.end())
            list.push_back(layout.shardDevice[i]);
    }
    // Ranks per host: one per distinct device while slotCount last (at least one
    // on the first host for the driver); ranks are numbered host by host, as
    // mpirun maps them by slot.
    std::vector<int> firstRank(hosts.size(), 0);
    std::vector<int> ranksOn(hosts.size(), 0);
    for (std::size_t h = 0; h < hosts.size(); ++h) {
        int wanted = static_cast<int>(devicesOnHost[h].size());
        if (h == 0)
            wanted = std::max(wanted, 1);
        ranksOn[h] = std::min(wanted, hosts[h].slotCount);
        firstRank[h] = layout.ranks();
        for (int r = 0; r < ranksOn[h]; ++r)
            layout.rankHost.push_back(hosts[h].host);
        if (ranksOn[h] > 0)
            layout.ranksPerHost.push_back({hosts[h].host, ranksOn[h]});
    }
    for (std::size_t s = 0; s < stageHost.size(); ++s) {
        const auto h = static_cast<std::size_t>(stageHost[s]);
        const auto &list = devicesOnHost[h];
        const int device = static_cast<int>(
            std::find(list.begin(), list.end(), layout.stageDevice[s]) - list.begin());
        layout.stageRank.push_back(firstRank[h] + device % ranksOn[h]);
    }
    for (std::size_t i = 0; i < shardHost.size(); ++i) {
        const auto h = static_cast<std::size_t>(shardHost[i]);
        const auto &list = devicesOnHost[h];
        const int device = static_cast<int>(
            std::find(list.begin(), list.end(), layout.shardDevice[i]) - list.begin());
        layout.shardRank.push_back(firstRank[h] + device % ranksOn[h]);
    }
    return layout;
}

json mpiJobToJson(const MpiJob &job)
{
    json inputs = json::array();
    for (const auto &[name, file] : job.inputs)
        inputs.push_back({{"name", name}, {"file", file.string()}});
    json hosts = json::array();
    for (const HostSlots &host : job.layout.ranksPerHost)
        hosts.push_back({{"host", host.host}, {"ranks", host.slotCount}});
    return {{"version", 1},
            {"run_id", job.runId},
            {"model", job.model.string()},
            {"model_sha256", job.modelSha256},
            {"plan", job.plan},
            {"inputs", inputs},
            {"output_dir", job.outputDir.string()},
            {"result", job.result.string()},
            {"microbatches", job.microbatches},
            {"warmup", job.warmup},
            {"iterations", job.iterations},
            {"heartbeat_s", job.heartbeatSeconds},
            {"heartbeat_timeout_s", job.heartbeatTimeoutSeconds},
            {"fuse", job.fuse},
            {"reference", job.reference},
            {"hosts", hosts},
            {"rank_hosts", job.layout.rankHost},
            {"stage_ranks", job.layout.stageRank},
            {"stage_devices", job.layout.stageDevice},
            {"stage_local_devices", job.layout.stageLocalDevice},
            {"shard_ranks", job.layout.shardRank},
            {"shard_devices", job.layout.shardDevice},
            {"shard_local_devices", job.layout.shardLocalDevice}};
}

Result<MpiJob> mpiJobFromJson(const json &doc)
{
    try {
        if (doc.at("version").get<int>() != 1)
            return makeError(ErrorCode::InvalidInput, "MPI job: unsupported version");
        MpiJob job;
        job.runId = doc.at("run_id").get<std::string>();
        job.model = doc.at("model").get<std::string>();
        job.modelSha256 = doc.at("model_sha256").get<std::string>();
        job.plan = doc.at("plan");
        for (const json &input : doc.at("inputs"))
            job.inputs.emplace_back(input.at("name").get<std::string>(),
                                    input.at("file").get<std::string>());
        job.outputDir = doc.at("output_dir").get<std::string>();
        job.result = doc.at("result").get<std::string>();
        job.microbatches = doc.at("microbatches").get<int>();
        job.warmup = doc.at("warmup").get<int>();
        job.iterations = doc.at("iterations").get<int>();
        job.heartbeatSeconds = doc.at("heartbeat_s").get<double>();
        job.heartbeatTimeoutSeconds = doc.at("heartbeat_timeout_s").get<double>();
        job.fuse = doc.at("fuse").get<bool>();
        job.reference = doc.at("reference").get<bool>();
        for (const json &host : doc.at("hosts"))
            job.layout.ranksPerHost.push_back(
                {host.at("host").get<std::string>(), host.at("ranks").get<int>()});
        job.layout.rankHost = doc.at("rank_hosts").get<std::vector<std::string>>();
        job.layout.stageRank = doc.at("stage_ranks").get<std::vector<int>>();
        job.layout.stageDevice = doc.at("stage_devices").get<std::vector<std::string>>();
        job.layout.stageLocalDevice = doc.at("stage_local_devices").get<std::vector<std::string>>();
        job.layout.shardRank = doc.value("shard_ranks", std::vector<int>{});
        job.layout.shardDevice = doc.value("shard_devices", std::vector<std::string>{});
        job.layout.shardLocalDevice = doc.value("shard_local_devices", std::vector<std::string>{});
        return job;
    } catch (const std::exception &error) {
        return makeError(ErrorCode::InvalidInput, std::string("MPI job: ") + error.what());
    }
}

std::vector<std::string> mpirunCommand(const MpiJob &job, const std::filesystem::path &jobFile,
                                       const MpiLaunchOptions &options)
{
    // --bind-to none: a rank's threads are its devices' thread pools, sized by
    // the plan; Open MPI's default (a core per rank for up to 2 ranks) would
    // squeeze them onto one core.
    std::vector<std::string> argv{options.mpirun, "--oversubscribe",
                                  "--bind-to",    "none",
                                  "-np",          std::to_string(job.layout.ranks())};
    if (options.hostfile) {
        argv.insert(argv.end(), {"--hostfile", options.hostfile->string(), "--map-by", "slot"});
    } else {
        std::string hosts;
        for (const HostSlots &host : job.layout.ranksPerHost)
            hosts += (hosts.empty() ? "" : ",") + host.host + ":" + std::to_string(host.slotCount);
        argv.insert(argv.end(), {"--host", hosts, "--map-by", "slot"});
    }
    bool allLocal = true;
    for (const std::string &host : job.layout.rankHost)
        allLocal = allLocal && isLocalHost(host);
    if (allLocal) // one machine: keep MPI's TCP on the loopback interface
        argv.insert(argv.end(),
                    {"--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"});
    argv.insert(argv.end(),
                {"-x", "OMPI_ALLOW_RUN_AS_ROOT", "-x", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
                 options.worker.string(), "--mpi-job", jobFile.string(), "--run-id", job.runId});
    return argv;
}

std::string shellJoin(const std::vector<std::string> &argv)
{
    std::string text;
    for (const std::string &arg : argv) {
        if (!text.empty())
            text += ' ';
        if (!arg.empty() &&
            arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_./:=,@+") == std::string::npos) {
            text += arg;
            continue;
        }
        text += '\'';
        for (char c : arg)
            text += c == '\'' ? std::string("'\\''") : std::string(1, c);
        text += '\'';
    }
    return text;
}

Result<ChildOutcome> runChild(const std::vector<std::string> &argv,
                              const std::function<void(const std::string &)> &onLine,
                              const CancelToken *cancel)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return makeError(ErrorCode::Io, std::string("pipe: ") + std::strerror(errno));
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return makeError(ErrorCode::Io, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0); // its own group: a terminal's Ctrl-C reaches us, we stop the job
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
        std::vector<char *> args;
        for (const std::string &arg : argv)
            args.push_back(const_cast<char *>(arg.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        const std::string message = "cannot start " + argv[0] + ": " + std::strerror(errno) + "\n";
        (void)!write(STDERR_FILENO, message.data(), message.size());
        _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    ChildOutcome outcome;
    std::string pending;
    auto deliver = [&](std::string line) {
        if (onLine)
            onLine(line);
        outcome.lines.push_back(std::move(line));
        if (outcome.lines.size() > 200)
            outcome.lines.erase(outcome.lines.begin());
    };
    Clock::time_point cancelAt{};
    bool termSent = false, killSent = false;
    for (;;) {
        pollfd fd{fds[0], POLLIN, 0};
        const int ready = poll(&fd, 1, 100);
        if (ready > 0) {
            char buffer[4096];
            const ssize_t got = read(fds[0], buffer, sizeof buffer);
            if (got <= 0)
                break; // EOF: mpirun and everything holding the pipe are gone
            pending.append(buffer, static_cast<std::size_t>(got));
            for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
                deliver(pending.substr(0, nl));
                pending.erase(0, nl + 1);
            }
        }
        if (cancel && cancel->isCancelled()) {
            if (!termSent) {
                outcome.cancelled = true;
                cancelAt = Clock::now();
                kill(pid, SIGTERM);
                termSent = true;
            } else if (!killSent && Clock::now() - cancelAt > std::chrono::seconds(5)) {
                kill(-pid, SIGKILL);
                killSent = true;
            }
        }
        // mpirun gone but a grandchild still holds the pipe: stop reading.
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            // Drain what is left without blocking, then report.
            for (;;) {
                pollfd rest{fds[0], POLLIN, 0};
                if (poll(&rest, 1, 200) <= 0)
                    break;
                char buffer[4096];
                const ssize_t got = read(fds[0], buffer, sizeof buffer);
                if (got <= 0)
                    break;
                pending.append(buffer, static_cast<std::size_t>(got));
            }
            close(fds[0]);
            std::stringstream rest(pending);
            std::string line;
            while (std::getline(rest, line))
                deliver(line);
            kill(-pid, SIGKILL); // anything left in mpirun's process group
            outcome.exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return outcome;
        }
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!pending.empty())
        deliver(pending);
    kill(-pid, SIGKILL);
    outcome.exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return outcome;
}

Result<json> launchMpiJob(const MpiJob &job, const std::filesystem::path &jobFile,
                          const MpiLaunchOptions &options,
                          const std::function<void(const std::string &)> &onLine,
                          const CancelToken *cancel)
{
    {
        std::ofstream out(jobFile, std::ios::trunc);
        out << sb::jsonText(mpiJobToJson(job), 1) << "\n";
        if (!out)
            return makeError(ErrorCode::Io, jobFile.string() + ": cannot write the MPI job");
    }
    std::error_code ignored;
    std::filesystem::remove(job.result, ignored);
    // Which rank died, from mpirun's own report.
    static const std::regex died(
        R"(process rank (\d+) with PID (\d+) on node (\S+) exited on signal (\d+)( \(([^)]*)\))?)");
    static const std::regex exited(R"(rank (\d+) with PID (\d+) on node (\S+) exited)");
    std::optional<std::string> fault;
    std::optional<std::string> launchProblem; // a host mpirun could not reach
    auto watch = [&](const std::string &line) {
        std::smatch match;
        if (!fault && std::regex_search(line, match, died)) {
            const int rank = std::stoi(match[1].str());
            fault = job.layout.describeRank(rank) + " exited on signal " + match[4].str() +
                    (match[6].matched ? " (" + match[6].str() + ")" : "");
        } else if (!fault && std::regex_search(line, match, exited)) {
            fault = job.layout.describeRank(std::stoi(match[1].str())) + " exited early";
        } else if (!launchProblem && line.rfind("ssh:", 0) == 0) {
            launchProblem = line;
        } else if (!launchProblem &&
                   line.find("ORTE was unable to reliably start one or more daemons") !=
                       std::string::npos) {
            launchProblem = "mpirun could not start its daemons on the remote hosts";
        }
        if (onLine)
            onLine(line);
    };
    SB_ASSIGN_OR_RETURN(ChildOutcome outcome,
                        runChild(mpirunCommand(job, jobFile, options), watch, cancel));
    if (outcome.cancelled)
        return makeError(ErrorCode::Cancelled, "MPI run cancelled: every rank was stopped");
    std::ifstream in(job.result);
    json doc = in ? json::parse(in, nullptr, false) : json();
    if (in && !doc.is_discarded() && doc.value("ok", false) && outcome.exitStatus == 0)
        return doc;
    std::string reported; // rank 0's own account, when it wrote one
    ErrorCode reportedCode = ErrorCode::Runtime;
    if (in && !doc.is_discarded() && doc.contains("error")) {
        const std::string code = doc["error"].value("code", "runtime");
        reportedCode = code == "invalid_input" ? ErrorCode::InvalidInput
                       : code == "cancelled"   ? ErrorCode::Cancelled
                                               : ErrorCode::Runtime;
        reported = doc["error"].value("message", "MPI run failed");
    }
    // A rank mpirun saw die is the cause; what rank 0 said follows.
    if (fault)
        return makeError(ErrorCode::Runtime,
                         "MPI run failed: " + *fault +
                             (reported.empty() ? std::string() : "; rank 0 reported: " + reported));
    if (!reported.empty())
        return makeError(reportedCode, reported);
    if (launchProblem)
        return makeError(ErrorCode::Runtime,
                         "MPI run failed: could not start ranks on every host: " + *launchProblem +
                             " (check that ssh to each host works without a password, that "
                             "shardbench-worker is at the same path there or given with "
                             "--worker, and that the host is reachable)");
    std::string tail;
    for (std::size_t i = outcome.lines.size() > 8 ? outcome.lines.size() - 8 : 0;
         i < outcome.lines.size(); ++i)
        tail += "\n  " + outcome.lines[i];
    return makeError(ErrorCode::Runtime, "MPI run failed: mpirun exited with status " +
                                             std::to_string(outcome.exitStatus) + " and no result" +
                                             tail);
}

std::filesystem::path defaultWorkerPath()
{
    if (const char *path = std::getenv("SHARDBENCH_WORKER"); path && *path)
        return path;
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error)
        return "shardbench-worker";
    return self.parent_path() / "shardbench-worker";
}

namespace {

std::string newRunId()
{
    std::random_device random;
    char text[32];
    std::snprintf(text, sizeof text, "%08x%04x", random(),
                  static_cast<unsigned>(getpid()) & 0xffff);
    return text;
}

struct RemoveTree
{
    std::filesystem::path path;
    ~RemoveTree()
    {
        std::error_code ignored;
        if (!path.empty())
            std::filesystem::remove_all(path, ignored);
    }
};

} // namespace

Result<MpiRunOutput> runPlanOverMpi(const MpiRunRequest &request)
{
    MpiRunOutput output;
    SB_ASSIGN_OR_RETURN(StageGraph stages, buildStageGraph(*request.graph, request.plan));
    std::vector<HostSlots> hosts = request.hosts;
    if (request.hostfile) {
        SB_ASSIGN_OR_RETURN(hosts, readHostfile(*request.hostfile));
    }
    if (hosts.empty())
        hosts = hostsForPlan(request.plan);
    SB_ASSIGN_OR_RETURN(output.layout, layoutStages(request.plan, stages, hosts));

    MpiJob job;
    job.runId = newRunId();
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("shardbench-mpi-" + job.runId);
    job.model = std::filesystem::absolute(request.model);
    SB_ASSIGN_OR_RETURN(job.modelSha256, sha256File(job.model));
    job.plan = planToJson(request.plan);
    job.result = dir / "result.json";
    if (request.wantOutputs)
        job.outputDir = dir / "outputs";
    job.microbatches = request.plan.microbatches;
    job.warmup = request.warmup;
    job.iterations = request.iterations;
    job.heartbeatTimeoutSeconds = request.heartbeatTimeoutSeconds;
    job.fuse = request.fuse;
    job.reference = request.reference;
    job.layout = output.layout;
    std::vector<std::string> names;
    for (const auto &[name, tensor] : request.inputs) {
        names.push_back(name);
        job.inputs.emplace_back(name, std::filesystem::path());
    }
    MpiLaunchOptions options;
    options.worker = request.worker.empty() ? defaultWorkerPath() : request.worker;
    options.hostfile = request.hostfile;
    const std::filesystem::path jobFile = dir / "job.json";
    output.command = shellJoin(mpirunCommand(job, jobFile, options));
    if (request.dryRun)
        return output;
    if (!std::filesystem::exists(options.worker))
        return makeError(ErrorCode::NotFound,
                         options.worker.string() + ": no shardbench-worker there (--worker PATH)");

    std::error_code made;
    std::filesystem::create_directories(dir, made);
    if (made)
        return makeError(ErrorCode::Io, dir.string() + ": " + made.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, made);
    RemoveTree cleanup{dir};
    SB_ASSIGN_OR_RETURN(auto written, runtime::writeOutputs(dir / "inputs", names, request.inputs));
    job.inputs.clear();
    for (const auto &w : written)
        job.inputs.emplace_back(w.name, w.file);
    SB_ASSIGN_OR_RETURN(json doc,
                        launchMpiJob(job, jobFile, options, request.onLine, request.cancel));
    SB_ASSIGN_OR_RETURN(output.metrics, runtime::pipelineMetricsFromJson(doc.at("metrics")));
    output.iterationMs = doc.value("iteration_ms", std::vector<double>{});
    output.latencyMs = doc.value("latency_ms", std::vector<double>{});
    for (const json &usage : doc.value("rank_usage", json::array()))
        if (usage.is_object())
            output.rankUsage.push_back({usage.value("cpu_ms", 0.0),
                                        usage.value("voluntary_switches", 0L),
                                        usage.value("involuntary_switches", 0L)});
    for (const json &out : doc.value("outputs", json::array())) {
        SB_ASSIGN_OR_RETURN(runtime::Tensor tensor,
                            runtime::readTensorFile(out.at("file").get<std::string>()));
        output.outputs[out.at("name").get<std::string>()] = std::move(tensor);
    }
    return output;
}

// ---- hosts: devices and links

namespace {

std::vector<std::string> oneRankPerHost(const std::vector<HostSlots> &hosts,
                                        const std::filesystem::path &worker)
{
    std::string list;
    bool allLocal = true;
    for (const HostSlots &host : hosts) {
        list += (list.empty() ? "" : ",") + host.host + ":1";
        allLocal = allLocal && isLocalHost(host.host);
    }
    std::vector<std::string> argv{
        "mpirun", "--oversubscribe", "-np", std::to_string(hosts.size()), "--host",
        list,     "--map-by",        "node"};
    if (allLocal)
        argv.insert(argv.end(),
                    {"--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"});
    argv.push_back(worker.empty() ? defaultWorkerPath().string() : worker.string());
    return argv;
}

// mpirun, collecting the JSON lines that start with {"KEY": from its output.
Result<std::vector<json>> collectJsonLines(const std::vector<std::string> &argv,
                                           const std::string &key,
                                           const std::function<void(const std::string &)> &onLine,
                                           const CancelToken *cancel)
{
    std::vector<json> found;
    const std::string prefix = "{\"" + key + "\":";
    SB_ASSIGN_OR_RETURN(ChildOutcome outcome, runChild(
                                                  argv,
                                                  [&](const std::string &line) {
                                                      if (line.rfind(prefix, 0) == 0) {
                                                          json doc =
                                                              json::parse(line, nullptr, false);
                                                          if (!doc.is_discarded())
                                                              found.push_back(doc[key]);
                                                          return;
                                                      }
                                                      if (onLine)
                                                          onLine(line);
                                                  },
                                                  cancel));
    if (outcome.cancelled)
        return makeError(ErrorCode::Cancelled, "cancelled");
    if (outcome.exitStatus != 0) {
        std::string tail;
        for (std::size_t i = outcome.lines.size() > 6 ? outcome.lines.size() - 6 : 0;
             i < outcome.lines.size(); ++i)
            tail += "\n  " + outcome.lines[i];
        return makeError(ErrorCode::Runtime,
                         "mpirun exited with status " + std::to_string(outcome.exitStatus) + tail);
    }
    return found;
}

} // namespace

Result<std::vector<HostProbe>> probeHosts(const std::vector<HostSlots> &hosts,
                                          const std::filesystem::path &worker, int cpuDevices,
                                          const std::function<void(const std::string &)> &onLine,
                                          const CancelToken *cancel)
{
    if (hosts.empty())
        return makeError(ErrorCode::InvalidInput, "no hosts to probe");
    std::vector<std::string> argv = oneRankPerHost(hosts, worker);
    argv.insert(argv.end(), {"--probe", "--cpu-devices", std::to_string(std::max(1, cpuDevices))});
    SB_ASSIGN_OR_RETURN(std::vector<json> lines, collectJsonLines(argv, "probe", onLine, cancel));
    std::vector<HostProbe> probes(hosts.size());
    std::vector<bool> seen(hosts.size(), false);
    for (const json &doc : lines) {
        const int rank = doc.value("rank", -1);
        if (rank < 0 || rank >= static_cast<int>(hosts.size()))
            continue;
        HostProbe &probe = probes[static_cast<std::size_t>(rank)];
        probe.host = hosts[static_cast<std::size_t>(rank)].host;
        probe.hostname = doc.value("host", "");
        probe.hardwareThreads = doc.value("hardware_threads", 0);
        probe.memoryBytes = doc.value("memory_bytes", std::uint64_t(0));
        for (const json &device : doc.value("devices", json::array())) {
            DeviceSpec spec;
            spec.id = probe.host + "/" + device.value("id", "");
            spec.kind = device.value("kind", "cpu");
            spec.name = device.value("name", "") + " on " + probe.host;
            spec.memoryBytes = device.value("memory_bytes", std::uint64_t(0));
            spec.flops = device.value("flops", 0.0);
            spec.memoryBandwidth = device.value("memory_bandwidth", 0.0);
            spec.threads = device.value("threads", 0);
            spec.source = device.value("source", "probe");
            probe.devices.push_back(spec);
        }
        seen[static_cast<std::size_t>(rank)] = true;
    }
    for (std::size_t h = 0; h < hosts.size(); ++h)
        if (!seen[h])
            return makeError(ErrorCode::Runtime, "host " + hosts[h].host + " sent no probe");
    return probes;
}

Result<std::vector<HostLink>> calibrateHostLinks(
    const std::vector<HostSlots> &hosts, const std::filesystem::path &worker, std::size_t bytes,
    int rounds, const std::function<void(const std::string &)> &onLine, const CancelToken *cancel)
{
    if (hosts.size() < 2)
        return makeError(ErrorCode::InvalidInput,
                         "calibrating links needs at least two hosts (--hosts A,B)");
    std::vector<std::string> argv = oneRankPerHost(hosts, worker);
    argv.insert(argv.end(), {"--mpi-calibrate", "--bytes", std::to_string(bytes), "--rounds",
                             std::to_string(rounds)});
    SB_ASSIGN_OR_RETURN(std::vector<json> lines,
                        collectJsonLines(argv, "calibration", onLine, cancel));
    if (lines.empty())
        return makeError(ErrorCode::Runtime, "rank 0 reported no link measurements");
    std::vector<HostLink> links;
    for (const json &entry : lines.front()) {
        const auto to = static_cast<std::size_t>(entry.value("to_rank", 0));
        if (to >= hosts.size())
            continue;
        HostLink link{hosts.front().host, hosts[to].host, entry.value("bandwidth", 0.0),
                      entry.value("latency_s", 0.0)};
        links.push_back(link);
        links.push_back({link.to, link.from, link.bandwidth, link.latencySeconds});
    }
    return links;
}

std::filesystem::path defaultHostLinksPath()
{
    return defaultCalibrationPath().parent_path() / "host_links.json";
}

Status saveHostLinks(const std::vector<HostLink> &links, const std::filesystem::path &path)
{
    json list = json::array();
    for (const HostLink &link : links)
        list.push_back({{"from", link.from},
                        {"to", link.to},
                        {"bandwidth", link.bandwidth},
                        {"latency_s", link.latencySeconds}});
    std::error_code ignored;
    if (path.has_parent_path())
        std::filesystem::create_directories(path.parent_path(), ignored);
    std::ofstream out(path, std::ios::trunc);
    out << sb::jsonText(json{{"version", 1}, {"host_links", list}}, 2) << "\n";
    if (!out)
        return makeError(ErrorCode::Io, path.string() + ": cannot write");
    return {};
}

Result<std::vector<HostLink>> loadHostLinks(const std::filesystem::path &path)
{
    std::ifstream in(path);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot read");
    json doc = json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.contains("host_links") || !doc["host_links"].is_array())
        return makeError(ErrorCode::InvalidInput, path.string() + ": no \"host_links\" list");
    std::vector<HostLink> links;
    for (const json &entry : doc["host_links"])
        links.push_back({entry.value("from", ""), entry.value("to", ""),
                         entry.value("bandwidth", 0.0), entry.value("latency_s", 0.0)});
    return links;
}

void addHostLinks(DeviceSet &set, const std::vector<HostLink> &links, const std::string &localHost)
{
    auto hostOf = [&](const std::string &id) {
        auto address = runtime::parseDeviceId(id);
        if (!address || !address->isRemote() || isLocalHost(address->host))
            return localHost;
        return address->host;
    };
    auto canonical = [&](const std::string &host) { return isLocalHost(host) ? localHost : host; };
    for (const DeviceSpec &a : set.devices)
        for (const DeviceSpec &b : set.devices) {
            const std::string from = hostOf(a.id), to = hostOf(b.id);
            if (from == to)
                continue;
            bool explicitLink = false;
            for (const LinkSpec &link : set.links)
                explicitLink = explicitLink || (link.from == a.id && link.to == b.id);
            if (explicitLink)
                continue;
            for (const HostLink &link : links)
                if (canonical(link.from) == from && canonical(link.to) == to) {
                    set.links.push_back(
                        {a.id, b.id, "mpi-tcp", link.bandwidth, link.latencySeconds});
                    break;
                }
        }
}

DeviceSet remoteDeviceSet(const std::vector<HostProbe> &probes, const std::vector<HostLink> &links)
{
    DeviceSet set;
    for (const HostProbe &probe : probes)
        for (const DeviceSpec &device : probe.devices)
            set.devices.push_back(device);
    addHostLinks(set, links);
    return set;
}

// ---- rank side

namespace {

// The calling thread (and the threads it starts afterwards) under
// SCHED_BATCH: scheduled as CPU-bound work that does not preempt others when
// it wakes. Linux only; elsewhere nothing.
void preferThroughputScheduling()
{
#if defined(__linux__)
    sched_param param{};
    param.sched_priority = 0; // SCHED_BATCH takes priority 0 (its nice value stays)
    (void)sched_setscheduler(0, SCHED_BATCH, &param);
#endif
}

const char *codeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidInput:
    case ErrorCode::NotFound:
        return "invalid_input";
    case ErrorCode::Cancelled:
        return "cancelled";
    default:
        return "runtime";
    }
}

int exitCodeOf(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidInput:
    case ErrorCode::NotFound:
        return 2;
    case ErrorCode::Cancelled:
        return 130;
    default:
        return 4;
    }
}

void writeResult(const std::filesystem::path &path, const json &doc)
{
    const std::filesystem::path partial = path.string() + ".partial";
    {
        std::ofstream out(partial, std::ios::trunc);
        out << sb::jsonText(doc) << "\n";
    }
    std::error_code ignored;
    std::filesystem::rename(partial, path, ignored);
}

json errorJson(const Error &error)
{
    return {{"ok", false}, {"error", {{"code", codeName(error.code)}, {"message", error.message}}}};
}

// Per-rank line on stdout; mpirun forwards it to the launcher.
class RankLog
{
public:
    RankLog(int rank, std::string host)
        : m_prefix("[rank " + std::to_string(rank) + " " + host + "] ")
    {}
    void operator()(const std::string &line) const
    {
        std::lock_guard lock(m_mutex);
        std::cout << m_prefix << line << std::endl;
    }

private:
    std::string m_prefix;
    mutable std::mutex m_mutex;
};

} // namespace

json probeHostJson(int cpuDevices)
{
    LocalDeviceOptions options;
    options.cpuDevices = std::max(1, cpuDevices);
    json devices = json::array();
    if (auto found = discoverLocalDevices(options))
        for (const DeviceSpec &device : found->devices)
            devices.push_back(deviceToJson(device));
    return {{"host", hostName()},
            {"hardware_threads", hardwareThreads()},
            {"memory_bytes", physicalMemoryBytes()},
            {"version", SHARDBENCH_VERSION},
            {"mpi", runtime::MpiWorld::available()},
#ifdef SHARDBENCH_HAVE_CUDA
            {"cuda", true},
#else
            {"cuda", false},
#endif
            {"devices", devices}};
}

int runMpiRank(runtime::MpiWorld &world, const std::filesystem::path &jobFile,
               const runtime::KernelRegistry &registry)
{
    const int rank = world.rank();
    const std::string host = hostName();
    RankLog log(rank, host);

    // 1. The job: rank 0 reads it, every rank gets it.
    std::string jobText;
    if (rank == 0) {
        std::ifstream in(jobFile);
        std::stringstream text;
        text << in.rdbuf();
        jobText = text.str();
        if (!in || jobText.empty())
            log("cannot read the job file " + jobFile.string());
    }
    auto shared = world.broadcast(jobText, 0);
    if (!shared || shared->empty())
        return 2;
    json jobDoc = json::parse(*shared, nullptr, false);
    auto parsedJob = mpiJobFromJson(jobDoc);
    if (!parsedJob) {
        log(parsedJob.error().message);
        return 2;
    }
    const MpiJob job = std::move(*parsedJob);
    if (job.layout.ranks() != world.size()) {
        if (rank == 0)
            writeResult(job.result,
                        errorJson(makeError(ErrorCode::InvalidInput,
                                            "the job has " + std::to_string(job.layout.ranks()) +
                                                " ranks but mpirun started " +
                                                std::to_string(world.size()))));
        return 2;
    }
    auto endJob = [&](const Error &error) -> int {
        // Rank 0 only: record the failure, then stop every rank.
        log("error: " + error.message);
        writeResult(job.result, errorJson(error));
        std::cout.flush();
        world.abort(exitCodeOf(error.code));
    };

    // 2. Model and hash on every rank; devices this rank must host.
    json info = {{"rank", rank}, {"host", host}, {"pid", static_cast<long>(getpid())}};
    std::shared_ptr<graph::Graph> graph;
    if (auto sha = sha256File(job.model); !sha)
        info["error"] = sha.error().message;
    else
        info["sha256"] = *sha;
    if (!info.contains("error")) {
        if (auto imported = graph::importOnnxFile(job.model); !imported)
            info["error"] = imported.error().message;
        else
            graph = *imported;
    }
    log("pid " + std::to_string(getpid()) + ", model " + job.model.string());
    auto infos = world.allGather(sb::jsonText(info));
    if (!infos)
        return 4;

    // 3. Rank 0 checks; everyone learns the verdict.
    std::string verdict;
    if (rank == 0) {
        for (int r = 0; r < world.size() && verdict.empty(); ++r) {
            json other = json::parse((*infos)[static_cast<std::size_t>(r)], nullptr, false);
            const std::string who = job.layout.describeRank(r);
            if (other.is_discarded())
                verdict =
                    sb::jsonText(errorJson(makeError(ErrorCode::Runtime, who + ": no handshake")));
            else if (other.contains("error"))
                verdict = sb::jsonText(errorJson(makeError(
                    ErrorCode::InvalidInput, who + ": " + other["error"].get<std::string>())));
            else if (other["sha256"] != job.modelSha256)
                verdict = sb::jsonText(
                    errorJson(makeError(ErrorCode::InvalidInput,
                                        who + ": model file " + job.model.string() +
                                            " has sha256 " + other["sha256"].get<std::string>() +
                                            ", the launcher's has " + job.modelSha256)));
        }
    }
    auto decided = world.broadcast(verdict, 0);
    if (!decided)
        return 4;
    if (!decided->empty()) {
        if (rank == 0) {
            json doc = json::parse(*decided);
            writeResult(job.result, doc);
            log("error: " + doc["error"]["message"].get<std::string>());
            return doc["error"]["code"] == "invalid_input" ? 2 : 4;
        }
        return 4;
    }

    // 4. Stages of this rank: devices from the factory, executors.
    auto plan = parsePlan(sb::jsonText(job.plan), "plan");
    std::vector<std::vector<graph::NodeId>> stageNodes;
    std::vector<std::unique_ptr<runtime::Device>> ownedDevices;
    std::map<int, std::unique_ptr<runtime::Executor>> executors;
    struct HelperShard
    {
        int stage = 0;
        int index = 0; // position in the stage's group
        std::unique_ptr<runtime::Executor> executor;
    };
    std::map<int, HelperShard> helperExecutors; // by position in job.layout.shard*
    std::vector<int> shardCounts;               // per stage (1: not tensor-parallel)
    json names = json::object();
    std::string setupError;
    if (!plan) {
        setupError = plan.error().message;
    } else if (auto stageGraph = buildStageGraph(*graph, *plan); !stageGraph) {
        setupError = stageGraph.error().message;
    } else if (stageGraph->stages.size() != job.layout.stageRank.size()) {
        setupError = "the plan's stages do not match the job's layout";
    } else {
        runtime::ExecutorOptions executorOptions;
        executorOptions.fuse = job.fuse;
        if (job.reference)
            executorOptions.variant = runtime::KernelVariant::Reference;
        std::map<std::string, runtime::Device *> byId;
        auto deviceFor = [&](const std::string &planId,
                             const std::string &localId) -> runtime::Device * {
            if (byId.count(planId))
                return byId[planId];
            const DeviceSpec *spec = plan->devices.find(planId);
            runtime::DeviceConfig config;
            config.id = localId;
            config.threads = spec ? std::max(1, spec->threads) : 1;
            config.memoryBytes = spec ? spec->memoryBytes : 0;
            if (config.memoryBytes > physicalMemoryBytes()) {
                setupError = "device " + planId + " holds " + formatBytes(config.memoryBytes) +
                             " in the plan but host " + host + " has " +
                             formatBytes(physicalMemoryBytes());
                return nullptr;
            }
            auto created = runtime::DeviceFactory::instance().create(config, registry);
            if (!created) {
                setupError = created.error().message;
                return nullptr;
            }
            runtime::Device *device = created->get();
            byId[planId] = device;
            ownedDevices.push_back(std::move(*created));
            return device;
        };
        std::vector<TensorParallelProblem> tpProblems;
        const auto groups = tensorParallelGroups(*graph, *plan, &tpProblems);
        if (!tpProblems.empty())
            setupError = tpProblems.front().message;
        std::size_t helperIndex = 0; // position in job.layout.shard*
        for (std::size_t s = 0; s < stageGraph->stages.size() && setupError.empty(); ++s) {
            const Stage &stage = stageGraph->stages[s];
            stageNodes.push_back(stage.nodes);
            const TensorParallelGroup *group = nullptr;
            for (const TensorParallelGroup &g : groups)
                if (g.stageDevice == stage.device)
                    group = &g;
            shardCounts.push_back(group ? static_cast<int>(group->devices.size()) : 1);
            const std::size_t firstHelper = helperIndex;
            if (group)
                helperIndex += group->devices.size() - 1;
            if (helperIndex > job.layout.shardRank.size()) {
                setupError = "the plan's tensor-parallel groups do not match the job's layout";
                break;
            }
            bool mine = job.layout.stageRank[s] == rank;
            for (std::size_t k = firstHelper; k < helperIndex; ++k)
                mine = mine || job.layout.shardRank[k] == rank;
            if (!mine)
                continue;
            std::optional<ShardedStage> sharded;
            if (group) {
                auto made = shardStage(*graph, stage.nodes, *group);
                if (!made) {
                    setupError = made.error().message;
                    break;
                }
                sharded = std::move(*made);
            }
            for (std::size_t k = firstHelper; k < helperIndex; ++k) {
                if (job.layout.shardRank[k] != rank)
                    continue;
                const std::size_t i = k - firstHelper + 1;
                runtime::Device *device =
                    deviceFor(job.layout.shardDevice[k], job.layout.shardLocalDevice[k]);
                if (!device)
                    break;
                auto executor = runtime::Executor::create(
                    sharded->shards[i].graph, sharded->shards[i].nodes, *device, executorOptions);
                if (!executor) {
                    setupError = executor.error()
                                     .withContext("stage " + std::to_string(s) + " shard " +
                                                  std::to_string(i))
                                     .message;
                    break;
                }
                helperExecutors[static_cast<int>(k)] = {static_cast<int>(s), static_cast<int>(i),
                                                        std::move(*executor)};
            }
            if (!setupError.empty() || job.layout.stageRank[s] != rank)
                continue;
            runtime::Device *device =
                deviceFor(job.layout.stageDevice[s], job.layout.stageLocalDevice[s]);
            if (!device)
                break;
            auto executor =
                sharded
                    ? runtime::Executor::create(sharded->shards[0].graph, sharded->shards[0].nodes,
                                                *device, executorOptions)
                    : runtime::Executor::create(graph, stage.nodes, *device, executorOptions);
            if (!executor) {
                setupError = executor.error().withContext("stage " + std::to_string(s)).message;
                break;
            }
            names[std::to_string(s)] = {{"inputs", (*executor)->inputNames()},
                                        {"outputs", (*executor)->outputNames()}};
            executors[static_cast<int>(s)] = std::move(*executor);
        }
    }
    // For the host's core gate: this rank's stages, and whether each is one
    // CPU thread.
    int cpuStages = 0;
    bool oneThreadEach = helperExecutors.empty();
    for (const auto &[s, executor] : executors) {
        auto *cpu = dynamic_cast<const runtime::CpuDevice *>(&executor->device());
        cpuStages += cpu ? 1 : 0;
        oneThreadEach = oneThreadEach && cpu && cpu->threads() == 1;
    }
    json mine = {{"names", names}, {"cpu_stages", cpuStages}, {"one_thread_each", oneThreadEach}};
    if (!setupError.empty())
        mine["error"] = setupError;
    auto allNames = world.allGather(sb::jsonText(mine));
    if (!allNames)
        return 4;
    const std::size_t stageCount = job.layout.stageRank.size();
    std::vector<std::vector<std::string>> inputNames(stageCount), outputNames(stageCount);
    for (int r = 0; r < world.size(); ++r) {
        json doc = json::parse((*allNames)[static_cast<std::size_t>(r)], nullptr, false);
        if (doc.is_discarded() || doc.contains("error")) {
            const std::string message = job.layout.describeRank(r) + ": " +
                                        (doc.is_discarded() ? std::string("bad setup reply")
                                                            : doc["error"].get<std::string>());
            if (rank == 0) {
                writeResult(job.result, errorJson(makeError(ErrorCode::InvalidInput, message)));
                log("error: " + message);
                return 2;
            }
            return 2;
        }
        for (const auto &[stage, io] : doc["names"].items()) {
            const auto s = static_cast<std::size_t>(std::stoi(stage));
            inputNames[s] = io["inputs"].get<std::vector<std::string>>();
            outputNames[s] = io["outputs"].get<std::vector<std::string>>();
        }
    }
    auto routing = runtime::routePipeline(*graph, stageNodes, inputNames, outputNames);
    if (!routing) {
        if (rank == 0)
            writeResult(job.result, errorJson(routing.error()));
        return 2;
    }
    runtime::addTensorParallelGroups(*routing, shardCounts);

    // Inputs and the micro-batch count (rank 0 decides).
    runtime::TensorMap inputs;
    std::string note;
    std::string microbatchText;
    if (rank == 0) {
        for (const auto &[name, file] : job.inputs) {
            auto tensor = runtime::readTensorFile(file);
            if (!tensor)
                endJob(tensor.error());
            inputs[name] = *tensor;
        }
        microbatchText = std::to_string(
            runtime::effectiveMicrobatches(*graph, *routing, inputs, job.microbatches, &note));
    }
    auto sharedMicrobatches = world.broadcast(microbatchText, 0);
    if (!sharedMicrobatches)
        return 4;
    const int microbatches = std::stoi(*sharedMicrobatches);

    // The host's core gate: when the 1-thread stages of this host's ranks
    // outnumber its cores (and no stage is tensor-parallel), they take turns
    // at the cores through a named semaphore, as the in-process runner's
    // stages do through its CoreGate. Every rank takes part in both
    // barriers; without the semaphore a rank runs ungated.
    std::unique_ptr<runtime::HostCoreGate> hostGate;
    {
        const std::string &myHost = job.layout.rankHost[static_cast<std::size_t>(rank)];
        int hostStages = 0, firstRank = -1;
        bool gateable = routing->groups.empty();
        for (int r = 0; r < world.size(); ++r) {
            if (job.layout.rankHost[static_cast<std::size_t>(r)] != myHost)
                continue;
            json doc = json::parse((*allNames)[static_cast<std::size_t>(r)], nullptr, false);
            hostStages += doc.value("cpu_stages", 0);
            gateable = gateable && doc.value("one_thread_each", false);
            if (firstRank < 0)
                firstRank = r;
        }
        const bool gated = gateable && hostStages > runtime::ThreadPool::hardwareThreads();
        const std::string name = "shardbench-gate-" + job.runId + "-" + myHost;
        auto note = [&](const Error &error) {
            log("running without the core gate: " + error.message);
        };
        if (gated && rank == firstRank) {
            auto made = runtime::HostCoreGate::create(name, runtime::ThreadPool::hardwareThreads());
            if (made)
                hostGate = std::move(*made);
            else
                note(made.error());
        }
        if (!world.barrier().ok())
            return 4;
        if (gated && rank != firstRank) {
            auto opened = runtime::HostCoreGate::open(name);
            if (opened)
                hostGate = std::move(*opened);
            else
                note(opened.error());
        }
        if (!world.barrier().ok())
            return 4;
        if (hostGate && rank == firstRank)
            hostGate->unlink();
        // More stages than cores on this host: the rank computes under
        // SCHED_BATCH. A rank waiting for a message wakes every few hundred
        // microseconds to poll (an MPI receive does not sleep); as a
        // normal task each such wake-up preempts a computing rank of the same
        // host. Batch tasks do not preempt on wake-up. Measured on the 2-vCPU
        // bench host, 3 ranks (pipeline_bench --only-mpi): involuntary context
        // switches per run 88-97 -> 14-16; alternating runs 213-248 -> 260-279
        // samples/s (bench/README.md).
        // Best effort: on refusal the rank runs as it was.
        if (hostStages > runtime::ThreadPool::hardwareThreads())
            preferThroughputScheduling();
    }

    std::vector<std::unique_ptr<runtime::StageWorker>> workers;
    for (auto &[s, executor] : executors) {
        workers.push_back(std::make_unique<runtime::StageWorker>(
            s, *executor, routing->stages[static_cast<std::size_t>(s)],
            stageNodes[static_cast<std::size_t>(s)].size()));
        workers.back()->setPlace(job.layout.rankHost[static_cast<std::size_t>(rank)], rank);
        if (auto group = routing->groups.find(s); group != routing->groups.end())
            workers.back()->setGroup(group->second, 0);
        if (hostGate)
            workers.back()->setCoreGate(hostGate.get(), 1);
    }
    for (auto &[k, helper] : helperExecutors) {
        const std::vector<int> &group = routing->groups.at(helper.stage);
        workers.push_back(std::make_unique<runtime::StageWorker>(
            group[static_cast<std::size_t>(helper.index)], *helper.executor, runtime::StageIo{},
            stageNodes[static_cast<std::size_t>(helper.stage)].size()));
        workers.back()->setPlace(job.layout.rankHost[static_cast<std::size_t>(rank)], rank);
        workers.back()->setGroup(group, helper.index);
    }
    std::vector<int> endpointRank = job.layout.stageRank;
    endpointRank.push_back(0); // the driver
    endpointRank.insert(endpointRank.end(), job.layout.shardRank.begin(),
                        job.layout.shardRank.end());
    auto transport = world.makeTransport(endpointRank);

    // 5. Heartbeats (ranks > 0) and the watch on them (rank 0).
    CancelToken stop;
    std::atomic<bool> finished{false};
    std::mutex faultMutex;
    std::optional<Error> fault;
    auto setFault = [&](Error error) {
        {
            std::lock_guard lock(faultMutex);
            if (!fault)
                fault = std::move(error);
        }
        stop.cancel();
        transport->shutdown();
    };
    std::thread heartbeat;
    const auto period =
        std::chrono::milliseconds(std::max(50, static_cast<int>(job.heartbeatSeconds * 1000)));
    if (rank != 0) {
        heartbeat = std::thread([&] {
            pthread_setname_np(pthread_self(), "sb-heartbeat"); // for top -H
            while (!finished.load()) {
                (void)world.sendControl(0, runtime::ControlKind::Heartbeat, "");
                for (auto slept = std::chrono::milliseconds(0); slept < period && !finished.load();
                     slept += std::chrono::milliseconds(10))
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
    } else {
        heartbeat = std::thread([&] {
            pthread_setname_np(pthread_self(), "sb-watch"); // for top -H
            std::vector<Clock::time_point> lastSeen(static_cast<std::size_t>(world.size()),
                                                    Clock::now());
            const auto timeout =
                std::chrono::milliseconds(static_cast<int>(job.heartbeatTimeoutSeconds * 1000));
            while (!finished.load()) {
                while (auto beat = world.pollControl(runtime::ControlKind::Heartbeat))
                    lastSeen[static_cast<std::size_t>(beat->source)] = Clock::now();
                while (auto error = world.pollControl(runtime::ControlKind::Error)) {
                    json doc = json::parse(error->text, nullptr, false);
                    const std::string message =
                        doc.is_discarded() ? error->text : doc.value("message", error->text);
                    setFault(makeError(ErrorCode::Runtime,
                                       job.layout.describeRank(error->source) + ": " + message));
                }
                for (int r = 1; r < world.size(); ++r)
                    if (Clock::now() - lastSeen[static_cast<std::size_t>(r)] > timeout)
                        setFault(makeError(
                            ErrorCode::Runtime,
                            job.layout.describeRank(r) + " sent no heartbeat for " +
                                std::to_string(static_cast<int>(job.heartbeatTimeoutSeconds)) +
                                " s (stuck, dead or unreachable)"));
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
    }
    struct StopHeartbeat
    {
        std::atomic<bool> &finished;
        std::thread &thread;
        ~StopHeartbeat()
        {
            finished = true;
            if (thread.joinable())
                thread.join();
        }
    } stopHeartbeat{finished, heartbeat};

    // 6. The runs.
    std::string stageList;
    for (const auto &worker : executors)
        stageList += (stageList.empty() ? "" : ",") + std::to_string(worker.first);
    log(stageList.empty() ? "driver ready" : "ready: stage(s) " + stageList);
    const int total = job.warmup + job.iterations;
    std::vector<double> iterationMs, latencyMs;
    // CPU time this rank spends (all its threads) over the measured runs:
    // what the transport costs beside the stage compute, independent of how
    // busy the machine is.
    ProcessUsage usageAtFirstMeasured;
    runtime::PipelineResult last;
    Clock::time_point lastLog = Clock::now();
    for (int it = 0; it < total; ++it) {
        if (it == job.warmup)
            usageAtFirstMeasured = processUsage();
        if (Status opened = transport->open(routing->endpointCount(), routing->links);
            !opened.ok()) {
            if (rank == 0)
                endJob(opened.error());
            return 4;
        }
        transport->useTransferBuffers(routing->stageLinks(),
                                      runtime::transferBuffersPerLink(microbatches));
        const auto origin = Clock::now();
        std::mutex errorMutex;
        std::optional<Error> localError;
        auto fail = [&](Error error) {
            std::lock_guard lock(errorMutex);
            if (!localError ||
                (localError->code == ErrorCode::Cancelled && error.code != ErrorCode::Cancelled))
                localError = std::move(error);
        };
        std::vector<std::thread> threads;
        for (const auto &worker : workers)
            threads.emplace_back([&, w = worker.get()] {
                Status status = w->run(*transport, routing->driver(), microbatches, stop, origin);
                if (!status.ok()) {
                    fail(status.error());
                    if (status.error().code != ErrorCode::Cancelled) {
                        if (rank == 0)
                            setFault(status.error());
                        else
                            (void)world.sendControl(
                                0, runtime::ControlKind::Error,
                                sb::jsonText(json{{"message", status.error().message}}));
                    }
                }
            });
        if (rank == 0) {
            runtime::PipelineDriver driver(*graph, *routing);
            auto result = driver.run(*transport, inputs, microbatches, stop, origin);
            if (result) {
                last = std::move(*result);
                if (it >= job.warmup) {
                    iterationMs.push_back(
                        std::chrono::duration<double, std::milli>(Clock::now() - origin).count());
                    latencyMs.insert(latencyMs.end(), last.metrics.microbatchLatencyMs.begin(),
                                     last.metrics.microbatchLatencyMs.end());
                }
            } else {
                fail(result.error());
                if (result.error().code != ErrorCode::Cancelled)
                    setFault(result.error());
            }
        }
        for (std::thread &thread : threads)
            thread.join();
        if (rank == 0) {
            std::optional<Error> error;
            {
                std::lock_guard lock(faultMutex);
                error = fault;
            }
            if (!error && localError)
                error = localError;
            if (error)
                endJob(*error);
            // Progress: the first, then at most one line a second, and the last.
            if (it == 0 || it + 1 == total || Clock::now() - lastLog > std::chrono::seconds(1)) {
                lastLog = Clock::now();
                log("iteration " + std::to_string(it + 1) + "/" + std::to_string(total) + " " +
                    std::to_string(last.metrics.wallMs) + " ms");
            }
        } else if (localError) {
            // Rank 0 ends the job (MPI_Abort) on our report; if it cannot,
            // leave on our own.
            log("error: " + localError->message);
            std::this_thread::sleep_for(std::chrono::seconds(20));
            return 4;
        }
    }

    // 7. Results (rank 0), then everyone leaves together.
    const ProcessUsage measured = processUsage() - usageAtFirstMeasured;
    auto gatheredUsage =
        world.allGather(sb::jsonText(json{{"cpu_ms", measured.cpuMs},
                                          {"voluntary_switches", measured.voluntarySwitches},
                                          {"involuntary_switches", measured.involuntarySwitches}}));
    if (rank == 0) {
        json rankUsage = json::array();
        if (gatheredUsage)
            for (const std::string &text : *gatheredUsage)
                rankUsage.push_back(json::parse(text, nullptr, false));
        json outputs = json::array();
        if (!job.outputDir.empty()) {
            std::vector<std::string> order;
            for (graph::ValueId out : graph->outputs())
                order.push_back(graph->value(out).name);
            auto written = runtime::writeOutputs(job.outputDir, order, last.outputs);
            if (!written)
                endJob(written.error());
            for (const auto &w : *written)
                outputs.push_back({{"name", w.name}, {"file", w.file.string()}});
        }
        last.metrics.microbatchNote = note;
        writeResult(job.result, {{"ok", true},
                                 {"metrics", runtime::pipelineMetricsToJson(last.metrics)},
                                 {"iteration_ms", iterationMs},
                                 {"latency_ms", latencyMs},
                                 {"rank_usage", rankUsage},
                                 {"outputs", outputs}});
        log("done");
    }
    finished = true;
    (void)world.barrier();
    return 0;
}

} // namespace sb::plan
