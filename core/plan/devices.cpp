#include "core/plan/devices.h"
#include "core/common/json_text.h"

#include "core/common/paths.h"
#include "core/runtime/device.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace sb::plan {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string trim(const std::string &text)
{
    auto begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos)
        return {};
    auto end = text.find_last_not_of(" \t");
    return text.substr(begin, end - begin + 1);
}

Result<json> readJsonFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot open");
    std::stringstream buffer;
    buffer << in.rdbuf();
    json doc = json::parse(buffer.str(), nullptr, false);
    if (doc.is_discarded())
        return makeError(ErrorCode::InvalidInput, path.string() + ": not valid JSON");
    return doc;
}

// Numbers in devices.json may be written as 80e9; json keeps them as doubles.
Result<double> numberField(const json &object, const char *key, const std::string &where,
                           bool required = true)
{
    auto it = object.find(key);
    if (it == object.end()) {
        if (required)
            return makeError(ErrorCode::InvalidInput, where + ": missing \"" + key + "\"");
        return 0.0;
    }
    if (!it->is_number() || it->get<double>() < 0)
        return makeError(ErrorCode::InvalidInput,
                         where + ": \"" + key + "\" must be a non-negative number");
    return it->get<double>();
}

std::string stringField(const json &object, const char *key)
{
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string cpuModelName()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos)
                return trim(line.substr(colon + 1));
        }
    }
    return "CPU";
}

} // namespace

int DeviceSet::indexOf(const std::string &id) const
{
    for (std::size_t i = 0; i < devices.size(); ++i)
        if (devices[i].id == id)
            return static_cast<int>(i);
    return -1;
}

const DeviceSpec *DeviceSet::find(const std::string &id) const
{
    int index = indexOf(id);
    return index < 0 ? nullptr : &devices[static_cast<std::size_t>(index)];
}

LinkSpec DeviceSet::link(const std::string &from, const std::string &to) const
{
    for (const LinkSpec &candidate : links)
        if (candidate.from == from && candidate.to == to)
            return candidate;
    LinkSpec fallback = defaultLink;
    fallback.from = from;
    fallback.to = to;
    return fallback;
}

double DeviceSet::transferSeconds(const std::string &from, const std::string &to,
                                  double bytes) const
{
    if (from == to || bytes <= 0)
        return 0;
    LinkSpec spec = link(from, to);
    double bandwidth = spec.bandwidth > 0 ? spec.bandwidth : defaultLink.bandwidth;
    return bytes / bandwidth + spec.latencySeconds;
}

const CatalogDevice *Catalog::find(const std::string &name) const
{
    std::string wanted = lower(name);
    for (const CatalogDevice &device : devices)
        if (lower(device.name) == wanted)
            return &device;
    return nullptr;
}

const CatalogLinkType *Catalog::findLink(const std::string &name) const
{
    for (const CatalogLinkType &link : links)
        if (link.name == name)
            return &link;
    return nullptr;
}

fs::path defaultCatalogPath()
{
    return resourceDir() / "devices.json";
}

Result<Catalog> loadCatalog(const fs::path &path)
{
    SB_ASSIGN_OR_RETURN(json doc, readJsonFile(path));
    Catalog catalog;
    const std::string file = path.string();
    if (!doc.is_object() || !doc.contains("devices") || !doc["devices"].is_array())
        return makeError(ErrorCode::InvalidInput, file + ": expected an object with \"devices\"");
    if (doc.contains("links") && doc["links"].is_array()) {
        for (std::size_t i = 0; i < doc["links"].size(); ++i) {
            const json &entry = doc["links"][i];
            std::string where = file + ": links[" + std::to_string(i) + "]";
            CatalogLinkType link;
            link.name = stringField(entry, "name");
            if (link.name.empty())
                return makeError(ErrorCode::InvalidInput, where + ": missing \"name\"");
            link.description = stringField(entry, "description");
            SB_ASSIGN_OR_RETURN(link.bandwidth, numberField(entry, "bandwidth", where));
            SB_ASSIGN_OR_RETURN(link.latencySeconds, numberField(entry, "latency_s", where));
            link.source = stringField(entry, "source");
            catalog.links.push_back(std::move(link));
        }
    }
    for (std::size_t i = 0; i < doc["devices"].size(); ++i) {
        const json &entry = doc["devices"][i];
        CatalogDevice device;
        device.name = stringField(entry, "name");
        std::string where = file + ": devices[" + std::to_string(i) + "]";
        if (device.name.empty())
            return makeError(ErrorCode::InvalidInput, where + ": missing \"name\"");
        where += " (" + device.name + ")";
        device.kind = stringField(entry, "kind");
        if (device.kind != "cpu" && device.kind != "cuda")
            return makeError(ErrorCode::InvalidInput, where + ": \"kind\" must be cpu or cuda");
        device.description = stringField(entry, "description");
        SB_ASSIGN_OR_RETURN(double memory, numberField(entry, "memory_bytes", where));
        device.memoryBytes = static_cast<std::uint64_t>(memory);
        SB_ASSIGN_OR_RETURN(device.flopsFp32, numberField(entry, "fp32_flops", where));
        SB_ASSIGN_OR_RETURN(device.flopsFp16, numberField(entry, "fp16_flops", where, false));
        SB_ASSIGN_OR_RETURN(device.memoryBandwidth, numberField(entry, "memory_bandwidth", where));
        SB_ASSIGN_OR_RETURN(device.pricePerHour,
                            numberField(entry, "price_per_hour", where, false));
        device.peerLink = stringField(entry, "peer_link");
        device.hostLink = stringField(entry, "host_link");
        for (const std::string &linkName : {device.peerLink, device.hostLink})
            if (!linkName.empty() && !catalog.findLink(linkName))
                return makeError(ErrorCode::InvalidInput,
                                 where + ": unknown link type \"" + linkName + "\"");
        device.source = stringField(entry, "source");
        if (device.source.empty())
            return makeError(ErrorCode::InvalidInput, where + ": missing \"source\"");
        catalog.devices.push_back(std::move(device));
    }
    return catalog;
}

double Calibration::flopsForThreads(int threads) const
{
    if (gemmFlopsByThreads.empty() || threads <= 0)
        return 0;
    auto exact = gemmFlopsByThreads.find(threads);
    if (exact != gemmFlopsByThreads.end())
        return exact->second;
    // Closest measurement at or below `threads`, scaled linearly (an estimate).
    auto it = gemmFlopsByThreads.upper_bound(threads);
    if (it == gemmFlopsByThreads.begin())
        return it->second * threads / it->first;
    --it;
    return it->second * threads / it->first;
}

fs::path defaultCalibrationPath()
{
    return userDataDir() / "calibration.json";
}

Result<Calibration> loadCalibration(const fs::path &path)
{
    SB_ASSIGN_OR_RETURN(json doc, readJsonFile(path));
    const std::string file = path.string();
    if (!doc.is_object() || !doc.contains("gemm_flops_by_threads") ||
        !doc["gemm_flops_by_threads"].is_object())
        return makeError(ErrorCode::InvalidInput, file + ": missing \"gemm_flops_by_threads\"");
    Calibration calibration;
    calibration.host = stringField(doc, "host");
    calibration.measuredAt = stringField(doc, "measured_at");
    calibration.hardwareThreads = doc.value("hardware_threads", 0);
    for (const auto &[key, value] : doc["gemm_flops_by_threads"].items()) {
        int threads = std::atoi(key.c_str());
        if (threads <= 0 || !value.is_number())
            return makeError(ErrorCode::InvalidInput,
                             file + ": gemm_flops_by_threads[\"" + key + "\"] is not valid");
        calibration.gemmFlopsByThreads[threads] = value.get<double>();
    }
    SB_ASSIGN_OR_RETURN(calibration.copyBandwidth, numberField(doc, "copy_bandwidth", file));
    if (doc.contains("gpus") && doc["gpus"].is_object())
        for (const auto &[id, entry] : doc["gpus"].items()) {
            Calibration::GpuRates rates;
            SB_ASSIGN_OR_RETURN(rates.gemmFlops, numberField(entry, "gemm_flops", file));
            SB_ASSIGN_OR_RETURN(rates.hostToDevice,
                                numberField(entry, "host_to_device_bandwidth", file));
            calibration.gpus[id] = rates;
        }
    if (doc.contains("cpu_kernel_rates") && doc["cpu_kernel_rates"].is_object()) {
        const json &rates = doc["cpu_kernel_rates"];
        KernelRates &kernels = calibration.cpuKernels;
        if (rates.contains("classes") && rates["classes"].is_object())
            for (const auto &[name, byThreads] : rates["classes"].items())
                for (const auto &[key, entry] : byThreads.items()) {
                    int threads = std::atoi(key.c_str());
                    ClassRate rate;
                    SB_ASSIGN_OR_RETURN(rate.overheadSeconds,
                                        numberField(entry, "overhead_s", file));
                    SB_ASSIGN_OR_RETURN(rate.unitsPerSecond,
                                        numberField(entry, "units_per_s", file));
                    if (threads <= 0 || rate.unitsPerSecond <= 0 || rate.overheadSeconds < 0)
                        return makeError(ErrorCode::InvalidInput,
                                         file + ": cpu_kernel_rates.classes[\"" + name + "\"][\"" +
                                             key + "\"] is not valid");
                    kernels.classes[name][threads] = rate;
                }
        if (rates.contains("run_overhead_s") && rates["run_overhead_s"].is_object())
            for (const auto &[key, value] : rates["run_overhead_s"].items())
                if (value.is_number() && std::atoi(key.c_str()) > 0)
                    kernels.runOverheadSeconds[std::atoi(key.c_str())] = value.get<double>();
        if (rates.contains("node_overhead_s") && rates["node_overhead_s"].is_object())
            for (const auto &[key, value] : rates["node_overhead_s"].items())
                if (value.is_number() && value.get<double>() >= 0 && std::atoi(key.c_str()) > 0)
                    kernels.nodeOverheadSeconds[std::atoi(key.c_str())] = value.get<double>();
        if (rates.contains("schedule_factor") && rates["schedule_factor"].is_object()) {
            const json &factor = rates["schedule_factor"];
            auto positive = [&](const char *key) {
                return factor.contains(key) && factor[key].is_number() &&
                               factor[key].get<double>() > 0
                           ? factor[key].get<double>()
                           : 0.0;
            };
            kernels.scheduleFactorFits = positive("fits");
            kernels.scheduleFactorOversubscribed = positive("oversubscribed");
        }
        if (rates.contains("co_run_cores") && rates["co_run_cores"].is_number_integer())
            kernels.coRunCores = std::max(0, rates["co_run_cores"].get<int>());
        if (rates.contains("co_run_speed") && rates["co_run_speed"].is_object())
            for (const auto &[key, value] : rates["co_run_speed"].items())
                if (value.is_number() && value.get<double>() > 0 && value.get<double>() <= 1)
                    kernels.coRunSpeed[key] = value.get<double>();
        if (rates.contains("weight_stream") && rates["weight_stream"].is_array()) {
            // [{"weight_set_bytes", "seconds_per_byte"}], ascending; entries
            // that are not that shape, or out of order, are dropped.
            for (const json &point : rates["weight_stream"]) {
                if (!point.is_object() || !point.contains("weight_set_bytes") ||
                    !point["weight_set_bytes"].is_number_unsigned() ||
                    !point.contains("seconds_per_byte") || !point["seconds_per_byte"].is_number())
                    continue;
                const auto bytes = point["weight_set_bytes"].get<std::uint64_t>();
                const double cost = point["seconds_per_byte"].get<double>();
                if (bytes == 0 || !(cost >= 0) || !std::isfinite(cost) ||
                    (!kernels.weightStream.empty() &&
                     (bytes <= kernels.weightStream.back().weightSetBytes ||
                      cost < kernels.weightStream.back().secondsPerByte)))
                    continue;
                kernels.weightStream.push_back({bytes, cost});
            }
        }
        if (rates.contains("pipeline_overhead") && rates["pipeline_overhead"].is_object())
            for (const auto &[key, value] : rates["pipeline_overhead"].items()) {
                const int stages = std::atoi(key.c_str());
                if (stages <= 0 || !value.is_object())
                    continue;
                // Figures that are not numbers count as not measured (0).
                auto milliseconds = [&value = value](const char *field) {
                    return value.contains(field) && value[field].is_number()
                               ? std::max(0.0, value[field].get<double>())
                               : 0.0;
                };
                kernels.pipelineOverhead[stages] = {milliseconds("run_ms"),
                                                    milliseconds("handoff_ms")};
            }
        if (rates.contains("learned") && rates["learned"].is_object())
            for (const auto &[name, value] : rates["learned"].items())
                if (value.is_number())
                    kernels.learned[name] =
                        std::clamp(value.get<double>(), kLearnedFactorMin, kLearnedFactorMax);
        kernels.learnedFrom = rates.value("learned_from", std::string());
    }
    return calibration;
}

namespace {

// The value for the closest measured count (thread count, stage count;
// value-initialised when none was measured).
template <typename Value> Value closestCount(const std::map<int, Value> &byCount, int count)
{
    if (byCount.empty())
        return Value{};
    auto best = byCount.begin();
    for (auto entry = byCount.begin(); entry != byCount.end(); ++entry)
        if (std::abs(entry->first - count) < std::abs(best->first - count))
            best = entry;
    return best->second;
}

} // namespace

std::optional<ClassRate> KernelRates::find(const std::string &rateClass, int threads) const
{
    auto it = classes.find(rateClass);
    if (it == classes.end() || it->second.empty())
        return std::nullopt;
    return closestCount(it->second, threads);
}

double KernelRates::runOverhead(int threads) const
{
    return closestCount(runOverheadSeconds, threads);
}

KernelRates::PipelineOverhead KernelRates::pipelineOverheadFor(int stages) const
{
    return closestCount(pipelineOverhead, stages);
}

double KernelRates::nodeOverhead(int threads) const
{
    return closestCount(nodeOverheadSeconds, threads);
}

double KernelRates::weightStreamSecondsPerByte(std::uint64_t bytes) const
{
    if (weightStream.empty() || bytes < weightStream.front().weightSetBytes)
        return 0.0;
    if (bytes == weightStream.front().weightSetBytes)
        return weightStream.front().secondsPerByte;
    for (std::size_t i = 1; i < weightStream.size(); ++i) {
        const WeightStreamPoint &low = weightStream[i - 1], &high = weightStream[i];
        if (bytes <= high.weightSetBytes) {
            const double at = std::log2(static_cast<double>(bytes)),
                         from = std::log2(static_cast<double>(low.weightSetBytes)),
                         to = std::log2(static_cast<double>(high.weightSetBytes));
            return low.secondsPerByte +
                   (high.secondsPerByte - low.secondsPerByte) * (at - from) / (to - from);
        }
    }
    return weightStream.back().secondsPerByte;
}

Status saveCalibration(const Calibration &calibration, const fs::path &path)
{
    json doc;
    doc["version"] = 1;
    doc["host"] = calibration.host;
    doc["measured_at"] = calibration.measuredAt;
    doc["hardware_threads"] = calibration.hardwareThreads;
    json rates = json::object();
    for (const auto &[threads, rate] : calibration.gemmFlopsByThreads)
        rates[std::to_string(threads)] = rate;
    doc["gemm_flops_by_threads"] = rates;
    doc["copy_bandwidth"] = calibration.copyBandwidth;
    if (!calibration.gpus.empty()) {
        json gpus = json::object();
        for (const auto &[id, rates] : calibration.gpus)
            gpus[id] = {{"gemm_flops", rates.gemmFlops},
                        {"host_to_device_bandwidth", rates.hostToDevice}};
        doc["gpus"] = gpus;
    }
    if (!calibration.cpuKernels.empty()) {
        const KernelRates &kernels = calibration.cpuKernels;
        json classes = json::object();
        for (const auto &[name, byThreads] : kernels.classes)
            for (const auto &[threads, rate] : byThreads)
                classes[name][std::to_string(threads)] = {{"overhead_s", rate.overheadSeconds},
                                                          {"units_per_s", rate.unitsPerSecond}};
        json overhead = json::object();
        for (const auto &[threads, seconds] : kernels.runOverheadSeconds)
            overhead[std::to_string(threads)] = seconds;
        json nodeOverhead = json::object();
        for (const auto &[threads, seconds] : kernels.nodeOverheadSeconds)
            nodeOverhead[std::to_string(threads)] = seconds;
        json pipelineOverhead = json::object();
        for (const auto &[stages, overhead] : kernels.pipelineOverhead)
            pipelineOverhead[std::to_string(stages)] = {{"run_ms", overhead.runMs},
                                                        {"handoff_ms", overhead.handoffMs}};
        json coRun = json::object();
        for (const auto &[name, speed] : kernels.coRunSpeed)
            coRun[name] = speed;
        json weightStream = json::array();
        for (const KernelRates::WeightStreamPoint &point : kernels.weightStream)
            weightStream.push_back({{"weight_set_bytes", point.weightSetBytes},
                                    {"seconds_per_byte", point.secondsPerByte}});
        json learned = json::object();
        for (const auto &[name, factor] : kernels.learned)
            learned[name] = factor;
        doc["cpu_kernel_rates"] = {{"classes", classes},
                                   {"run_overhead_s", overhead},
                                   {"node_overhead_s", nodeOverhead},
                                   {"schedule_factor",
                                    {{"fits", kernels.scheduleFactorFits},
                                     {"oversubscribed", kernels.scheduleFactorOversubscribed}}},
                                   {"pipeline_overhead", pipelineOverhead},
                                   {"co_run_speed", coRun},
                                   {"co_run_cores", kernels.coRunCores},
                                   {"weight_stream", weightStream},
                                   {"learned", learned},
                                   {"learned_from", kernels.learnedFrom}};
    }
    std::error_code ec;
    if (path.has_parent_path())
        fs::create_directories(path.parent_path(), ec);
    fs::path temp = path;
    temp += ".tmp";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out)
            return makeError(ErrorCode::Io, temp.string() + ": cannot write");
        out << sb::jsonText(doc, 2) << "\n";
        if (!out)
            return makeError(ErrorCode::Io, temp.string() + ": write failed");
    }
    fs::rename(temp, path, ec);
    if (ec)
        return makeError(ErrorCode::Io, path.string() + ": " + ec.message());
    return {};
}

int hardwareThreads()
{
    unsigned count = std::thread::hardware_concurrency();
    return count == 0 ? 1 : static_cast<int>(count);
}

std::uint64_t physicalMemoryBytes()
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long pageSize = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || pageSize <= 0)
        return 0;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(pageSize);
}

Result<DeviceSet> discoverLocalDevices(const LocalDeviceOptions &options)
{
    if (options.cpuDevices < 1 || options.cpuDevices > 256)
        return makeError(ErrorCode::InvalidInput, "--cpu-devices must be between 1 and 256, got " +
                                                      std::to_string(options.cpuDevices));
    DeviceSet set;
    const int cores = hardwareThreads();
    const std::uint64_t memory = physicalMemoryBytes();

    std::optional<Calibration> calibration;
    fs::path calibrationPath = options.calibrationPath.value_or(defaultCalibrationPath());
    std::error_code ec;
    if (fs::exists(calibrationPath, ec)) {
        auto loaded = loadCalibration(calibrationPath);
        if (!loaded)
            return loaded.error();
        calibration = std::move(loaded).value();
    } else if (options.calibrationPath) {
        return makeError(ErrorCode::NotFound, calibrationPath.string() + ": cannot open");
    }
    double copyBandwidth = calibration && calibration->copyBandwidth > 0
                               ? calibration->copyBandwidth
                               : kDefaultCpuCopyBandwidth;

    const std::string model = cpuModelName();
    for (int i = 0; i < options.cpuDevices; ++i) {
        DeviceSpec device;
        device.id = "cpu:" + std::to_string(i);
        device.kind = "cpu";
        // Split cores evenly; the first devices take the remainder. With more
        // devices than cores, devices share cores (each still has one thread).
        int threads = cores / options.cpuDevices + (i < cores % options.cpuDevices ? 1 : 0);
        device.threads = std::max(1, threads);
        device.name = std::to_string(device.threads) + (device.threads == 1 ? " core" : " cores") +
                      " of " + model;
        device.memoryBytes = memory / static_cast<std::uint64_t>(options.cpuDevices);
        if (calibration && calibration->flopsForThreads(device.threads) > 0) {
            device.flops = calibration->flopsForThreads(device.threads);
            device.source = "calibrated " + calibration->measuredAt;
        } else {
            device.flops = kDefaultCpuFlopsPerThread * device.threads;
            device.source = "default (run `shardbench-cli calibrate`)";
        }
        device.memoryBandwidth = copyBandwidth;
        set.devices.push_back(std::move(device));
    }

    for (const runtime::DeviceInfo &gpu : runtime::DeviceFactory::instance().enumerate("cuda")) {
        DeviceSpec device;
        device.id = "cuda:" + std::to_string(gpu.index);
        device.kind = "cuda";
        device.name = gpu.name;
        device.memoryBytes = gpu.memoryBytes;
        device.flops = gpu.peakFlops;
        device.source = gpu.peakSource;
        if (calibration) {
            auto measured = calibration->gpus.find(device.id);
            if (measured != calibration->gpus.end() && measured->second.gemmFlops > 0) {
                device.flops = measured->second.gemmFlops;
                device.source = "calibrated " + calibration->measuredAt;
            }
        }
        set.devices.push_back(std::move(device));
    }

    for (const auto &[id, cap] : options.memoryCaps) {
        int index = set.indexOf(id);
        if (index < 0)
            return makeError(ErrorCode::InvalidInput,
                             "--memory-cap names unknown device \"" + id + "\"");
        set.devices[static_cast<std::size_t>(index)].memoryBytes = cap;
    }

    // Local CPU devices exchange tensors through memory: a memcpy.
    set.defaultLink = LinkSpec{"", "", "shared-memory", copyBandwidth, 5e-6};
    return set;
}

Result<std::uint64_t> parseByteSize(const std::string &text)
{
    std::string value = trim(text);
    std::size_t pos = 0;
    while (pos < value.size() &&
           (std::isdigit(static_cast<unsigned char>(value[pos])) || value[pos] == '.'))
        ++pos;
    if (pos == 0)
        return makeError(ErrorCode::InvalidInput, "\"" + text + "\" is not a size (e.g. 2GiB)");
    double number = std::atof(value.substr(0, pos).c_str());
    std::string unit = lower(trim(value.substr(pos)));
    static const std::map<std::string, double> units = {{"", 1.0},
                                                        {"b", 1.0},
                                                        {"k", 1024.0},
                                                        {"kib", 1024.0},
                                                        {"kb", 1e3},
                                                        {"m", 1048576.0},
                                                        {"mib", 1048576.0},
                                                        {"mb", 1e6},
                                                        {"g", 1073741824.0},
                                                        {"gib", 1073741824.0},
                                                        {"gb", 1e9},
                                                        {"t", 1099511627776.0},
                                                        {"tib", 1099511627776.0},
                                                        {"tb", 1e12}};
    auto it = units.find(unit);
    if (it == units.end())
        return makeError(ErrorCode::InvalidInput, "\"" + text + "\": unknown size unit \"" + unit +
                                                      "\" (use KiB, MiB, GiB, GB...)");
    return static_cast<std::uint64_t>(std::llround(number * it->second));
}

Result<std::pair<std::string, std::uint64_t>> parseMemoryCap(const std::string &text)
{
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        return makeError(ErrorCode::InvalidInput,
                         "--memory-cap \"" + text + "\": expected DEVICE=SIZE, e.g. cpu:0=2GiB");
    SB_ASSIGN_OR_RETURN(std::uint64_t bytes, parseByteSize(text.substr(eq + 1)));
    return std::make_pair(trim(text.substr(0, eq)), bytes);
}

Result<DeviceSet> parseDeviceList(const std::string &spec, const DeviceSet &local,
                                  const Catalog &catalog)
{
    DeviceSet set;
    set.defaultLink = local.defaultLink;
    // Which catalogue model each what-if device is (for links).
    std::map<std::string, const CatalogDevice *> modelOf;
    std::map<std::string, int> nextIndex;
    std::stringstream stream(spec);
    std::string item;
    while (std::getline(stream, item, ',')) {
        item = trim(item);
        if (item.empty())
            continue;
        if (item.rfind("catalog:", 0) == 0) {
            std::string name = item.substr(8);
            long long count = 1;
            if (auto star = name.find('*'); star != std::string::npos) {
                std::string countText = name.substr(star + 1);
                char *end = nullptr;
                count = std::strtoll(countText.c_str(), &end, 10);
                if (countText.empty() || *end != '\0' || count < 1 || count > 1024)
                    return makeError(ErrorCode::InvalidInput,
                                     "--devices \"" + item + "\": count must be 1..1024");
                name = name.substr(0, star);
            }
            const CatalogDevice *model = catalog.find(name);
            if (!model) {
                std::string known;
                for (const CatalogDevice &device : catalog.devices)
                    known += (known.empty() ? "" : ", ") + device.name;
                return makeError(ErrorCode::InvalidInput, "--devices: \"" + name +
                                                              "\" is not in the catalogue (" +
                                                              known + ")");
            }
            for (long long i = 0; i < count; ++i) {
                DeviceSpec device;
                device.id = model->name + ":" + std::to_string(nextIndex[model->name]++);
                device.kind = model->kind;
                device.name = model->description;
                device.memoryBytes = model->memoryBytes;
                device.flops = model->flopsFp32;
                device.flopsFp16 = model->flopsFp16;
                device.memoryBandwidth = model->memoryBandwidth;
                device.pricePerHour = model->pricePerHour;
                device.source = "catalogue: " + model->source;
                modelOf[device.id] = model;
                set.devices.push_back(std::move(device));
            }
        } else {
            const DeviceSpec *device = local.find(item);
            if (!device) {
                std::string known;
                for (const DeviceSpec &candidate : local.devices)
                    known += (known.empty() ? "" : ", ") + candidate.id;
                return makeError(ErrorCode::InvalidInput,
                                 "--devices: unknown local device \"" + item + "\" (local: " +
                                     known + "; what-if devices are catalog:NAME[*N])");
            }
            set.devices.push_back(*device);
        }
    }
    if (set.devices.empty())
        return makeError(ErrorCode::InvalidInput, "--devices: no devices given");
    for (std::size_t i = 0; i < set.devices.size(); ++i)
        for (std::size_t j = i + 1; j < set.devices.size(); ++j)
            if (set.devices[i].id == set.devices[j].id)
                return makeError(ErrorCode::InvalidInput,
                                 "--devices: \"" + set.devices[i].id + "\" listed twice");

    // Links between catalogue devices (and between a catalogue device and a local one).
    auto linkType = [&](const std::string &name) -> const CatalogLinkType * {
        return name.empty() ? nullptr : catalog.findLink(name);
    };
    for (const DeviceSpec &a : set.devices)
        for (const DeviceSpec &b : set.devices) {
            if (a.id == b.id)
                continue;
            auto ma = modelOf.find(a.id);
            auto mb = modelOf.find(b.id);
            if (ma == modelOf.end() && mb == modelOf.end())
                continue; // two local devices: the local default link
            const CatalogLinkType *type = nullptr;
            if (ma != modelOf.end() && mb != modelOf.end() && ma->second == mb->second) {
                type = linkType(ma->second->peerLink);
            } else {
                const CatalogLinkType *la =
                    ma != modelOf.end() ? linkType(ma->second->hostLink) : nullptr;
                const CatalogLinkType *lb =
                    mb != modelOf.end() ? linkType(mb->second->hostLink) : nullptr;
                type = !la ? lb : !lb ? la : (la->bandwidth <= lb->bandwidth ? la : lb);
            }
            if (type)
                set.links.push_back(
                    LinkSpec{a.id, b.id, type->name, type->bandwidth, type->latencySeconds});
        }
    return set;
}

std::string formatBytes(std::uint64_t bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024.0 && unit < 4) {
        value /= 1024.0;
        ++unit;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.2f %s", value, units[unit]);
    return buffer;
}

std::string formatRate(double flops)
{
    char buffer[32];
    if (flops >= 1e12)
        std::snprintf(buffer, sizeof buffer, "%.2f TFLOP/s", flops / 1e12);
    else
        std::snprintf(buffer, sizeof buffer, "%.1f GFLOP/s", flops / 1e9);
    return buffer;
}

} // namespace sb::plan
