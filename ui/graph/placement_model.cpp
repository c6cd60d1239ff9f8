#include "ui/graph/placement_model.h"

#include "core/plan/tensor_parallel.h"
#include "core/plan/validate.h"

#include <QUndoCommand>

#include <algorithm>
#include <map>
#include <set>

namespace sb::ui {

namespace {

// Stores the whole before/after state: placements are small (4 bytes per
// node) and this keeps every command trivially exact to undo.
class PlacementCommand : public QUndoCommand
{
public:
    PlacementCommand(PlacementModel *model, std::vector<int> after, std::vector<bool> pinnedAfter,
                     const QString &text)
        : m_model(model), m_before(model->assignment()), m_after(std::move(after)),
          m_pinnedBefore(model->pinned()), m_pinnedAfter(std::move(pinnedAfter))
    {
        setText(text);
    }
    void redo() override { m_model->setState(m_after, m_pinnedAfter); }
    void undo() override { m_model->setState(m_before, m_pinnedBefore); }

private:
    PlacementModel *m_model;
    std::vector<int> m_before, m_after;
    std::vector<bool> m_pinnedBefore, m_pinnedAfter;
};

// A tensor-parallel split: assignment, pins and the plan's tensor_parallel
// entries before and after.
class SplitCommand : public QUndoCommand
{
public:
    SplitCommand(PlacementModel *model, std::vector<int> after, std::vector<bool> pinnedAfter,
                 nlohmann::json tensorAfter, const QString &text)
        : m_model(model), m_before(model->assignment()), m_after(std::move(after)),
          m_pinnedBefore(model->pinned()), m_pinnedAfter(std::move(pinnedAfter)),
          m_tensorBefore(model->tensorParallel()), m_tensorAfter(std::move(tensorAfter))
    {
        setText(text);
    }
    void redo() override { m_model->setState(m_after, m_pinnedAfter, m_tensorAfter); }
    void undo() override { m_model->setState(m_before, m_pinnedBefore, m_tensorBefore); }

private:
    PlacementModel *m_model;
    std::vector<int> m_before, m_after;
    std::vector<bool> m_pinnedBefore, m_pinnedAfter;
    nlohmann::json m_tensorBefore, m_tensorAfter;
};

// The entries without `names` (entries left empty are dropped).
nlohmann::json withoutNodes(const nlohmann::json &entries, const std::set<std::string> &names)
{
    nlohmann::json kept = nlohmann::json::array();
    if (!entries.is_array())
        return kept;
    for (nlohmann::json entry : entries) {
        if (!entry.is_object() || !entry.contains("nodes") || !entry["nodes"].is_array()) {
            kept.push_back(entry);
            continue;
        }
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto &node : entry["nodes"])
            if (!node.is_string() || !names.count(node.get<std::string>()))
                nodes.push_back(node);
        if (nodes.empty())
            continue;
        entry["nodes"] = nodes;
        kept.push_back(entry);
    }
    return kept;
}

} // namespace

PlacementModel::PlacementModel(QObject *parent) : QAbstractTableModel(parent) {}

bool PlacementModel::splitAcrossDevices(const QVector<graph::NodeId> &nodes,
                                        const QVector<int> &devices)
{
    if (!m_model || nodes.isEmpty() || devices.size() < 2)
        return false;
    for (int d : devices)
        if (d < 0 || d >= m_devices.size())
            return false;
    const auto &graph = *m_model->graph;
    std::vector<graph::NodeId> ordered(nodes.begin(), nodes.end());
    std::sort(ordered.begin(), ordered.end());
    ordered.erase(std::unique(ordered.begin(), ordered.end()), ordered.end());
    const auto modes = plan::proposeSplits(graph, ordered, int(devices.size()));
    if (modes.empty())
        return false;
    std::set<std::string> names;
    for (graph::NodeId n : ordered)
        names.insert(graph.node(n).name);
    nlohmann::json entries = withoutNodes(m_planExtras.tensorParallel, names);
    nlohmann::json ids = nlohmann::json::array();
    QStringList idList;
    for (int d : devices) {
        ids.push_back(m_devices[d].id.toStdString());
        idList << m_devices[d].id;
    }
    for (const char *mode : {"column", "row"}) {
        nlohmann::json listed = nlohmann::json::array();
        for (const auto &[n, chosen] : modes)
            if (chosen == mode)
                listed.push_back(graph.node(n).name);
        if (!listed.empty())
            entries.push_back({{"nodes", listed}, {"devices", ids}, {"mode", mode}});
    }
    std::vector<int> after = m_deviceOf;
    for (graph::NodeId n : ordered)
        after[std::size_t(n)] = devices.front();
    m_undo.push(new SplitCommand(
        this, std::move(after), m_pinned, std::move(entries),
        tr("Split %n node(s) across %1", nullptr, int(ordered.size())).arg(idList.join(", "))));
    return true;
}

bool PlacementModel::unsplit(const QVector<graph::NodeId> &nodes)
{
    if (!m_model)
        return false;
    std::set<std::string> names;
    for (graph::NodeId n : nodes)
        names.insert(m_model->graph->node(n).name);
    nlohmann::json entries = withoutNodes(m_planExtras.tensorParallel, names);
    if (entries == m_planExtras.tensorParallel ||
        (entries.empty() &&
         (!m_planExtras.tensorParallel.is_array() || m_planExtras.tensorParallel.empty())))
        return false;
    m_undo.push(new SplitCommand(this, m_deviceOf, m_pinned, std::move(entries),
                                 tr("Stop splitting %n node(s)", nullptr, int(nodes.size()))));
    return true;
}

QVector<int> PlacementModel::tensorParallelGroup(graph::NodeId node) const
{
    QVector<int> group;
    if (!m_model || !m_planExtras.tensorParallel.is_array())
        return group;
    const std::string &name = m_model->graph->node(node).name;
    for (const auto &entry : m_planExtras.tensorParallel) {
        if (!entry.is_object() || !entry.contains("nodes") || !entry.contains("devices"))
            continue;
        bool listed = false;
        for (const auto &n : entry["nodes"])
            listed = listed || (n.is_string() && n.get<std::string>() == name);
        if (!listed)
            continue;
        for (const auto &device : entry["devices"])
            if (device.is_string())
                group << deviceIndex(QString::fromStdString(device.get<std::string>()));
        return group;
    }
    return group;
}

void PlacementModel::setState(const std::vector<int> &assignment, const std::vector<bool> &pinned,
                              const nlohmann::json &tensorParallel)
{
    m_planExtras.tensorParallel = tensorParallel;
    setState(assignment, pinned);
}

void PlacementModel::setModelData(std::shared_ptr<const ModelData> model)
{
    beginResetModel();
    m_model = std::move(model);
    const std::size_t n = std::size_t(m_model ? m_model->nodeCount() : 0);
    m_deviceOf.assign(n, m_devices.isEmpty() ? -1 : 0);
    m_pinned.assign(n, false);
    m_undo.clear();
    m_planExtras = plan::Plan{}; // a loaded plan's extras belong to the previous model
    m_planDimsSource.clear();
    m_planDeviceIds.clear();
    m_analysis.reset(); // the analysis belongs to the previous model
    m_analysisPending.reset();
    endResetModel();
    emit planDimsChanged();
    recheck();
}

void PlacementModel::setDevices(const QVector<DeviceInfo> &devices)
{
    std::vector<int> remap(std::size_t(m_devices.size()), -1);
    for (int i = 0; i < m_devices.size(); ++i)
        for (int j = 0; j < devices.size(); ++j)
            if (devices[j].id == m_devices[i].id)
                remap[i] = j;
    bool sameIds = devices.size() == m_devices.size();
    for (int i = 0; sameIds && i < m_devices.size(); ++i)
        sameIds = remap[std::size_t(i)] == i;
    m_devices = devices;
    for (int i = 0; i < m_devices.size(); ++i)
        if (!m_devices[i].colour.isValid())
            m_devices[i].colour = deviceColour(i);
    m_catalogueLinks = catalogueLinks(m_devices);
    for (int &d : m_deviceOf)
        d = d >= 0 && std::size_t(d) < remap.size() ? remap[d] : -1;
    if (!sameIds)
        m_undo.clear(); // commands hold device indices of the old list
    emit devicesChanged();
    if (!m_deviceOf.empty())
        emit dataChanged(index(0, DeviceColumn), index(rowCount() - 1, ProblemColumn));
    recheck();
}

void PlacementModel::addDevice(const DeviceInfo &device)
{
    DeviceInfo copy = device;
    if (!copy.colour.isValid())
        copy.colour = deviceColour(m_devices.size());
    m_devices.push_back(copy); // appending keeps indices held by undo commands valid
    m_catalogueLinks = catalogueLinks(m_devices);
    emit devicesChanged();
    recheck();
}

int PlacementModel::deviceIndex(const QString &id) const
{
    for (int i = 0; i < m_devices.size(); ++i)
        if (m_devices[i].id == id)
            return i;
    return -1;
}

int PlacementModel::deviceOf(graph::NodeId node) const
{
    return node >= 0 && std::size_t(node) < m_deviceOf.size() ? m_deviceOf[node] : -1;
}

bool PlacementModel::isPinned(graph::NodeId node) const
{
    return node >= 0 && std::size_t(node) < m_pinned.size() && m_pinned[node];
}

bool PlacementModel::assignNodes(const QVector<graph::NodeId> &nodes, int device)
{
    if (device < 0 || device >= m_devices.size())
        return false;
    std::vector<int> after = m_deviceOf;
    int changed = 0;
    for (graph::NodeId node : nodes) {
        if (node < 0 || std::size_t(node) >= after.size() || after[node] == device)
            continue;
        after[node] = device;
        ++changed;
    }
    if (changed == 0)
        return false;
    const QString text =
        changed == 1 ? tr("Assign %1 to %2")
                           .arg(QString::fromStdString(m_model->graph->node(nodes.front()).name),
                                m_devices[device].id)
                     : tr("Assign %1 nodes to %2").arg(changed).arg(m_devices[device].id);
    m_undo.push(new PlacementCommand(this, std::move(after), m_pinned, text));
    return true;
}

bool PlacementModel::setPinned(const QVector<graph::NodeId> &nodes, bool pinned)
{
    std::vector<bool> after = m_pinned;
    int changed = 0;
    for (graph::NodeId node : nodes) {
        if (node < 0 || std::size_t(node) >= after.size() || after[node] == pinned)
            continue;
        after[node] = pinned;
        ++changed;
    }
    if (changed == 0)
        return false;
    m_undo.push(new PlacementCommand(this, m_deviceOf, std::move(after),
                                     pinned ? tr("Pin %n node(s)", nullptr, changed)
                                            : tr("Unpin %n node(s)", nullptr, changed)));
    return true;
}

bool PlacementModel::applyPlacement(const std::vector<int> &assignment,
                                    const std::vector<bool> &pinned, const QString &text)
{
    if (assignment.size() != m_deviceOf.size() || pinned.size() != m_pinned.size())
        return false;
    if (assignment == m_deviceOf && pinned == m_pinned)
        return false;
    m_undo.push(new PlacementCommand(this, assignment, pinned, text));
    return true;
}

void PlacementModel::setState(const std::vector<int> &assignment, const std::vector<bool> &pinned)
{
    m_deviceOf = assignment;
    m_pinned = pinned;
    if (!m_deviceOf.empty())
        emit dataChanged(index(0, DeviceColumn), index(rowCount() - 1, ProblemColumn));
    recheck();
}

void PlacementModel::recheck()
{
    if (!m_model || !m_model->graph || m_devices.isEmpty()) {
        m_report = m_model && m_model->graph
                       ? placementReport(*m_model, m_devices, m_deviceOf, nullptr)
                       : PlacementReport{};
        emit placementChanged();
        return;
    }
    // core/plan's validator judges every edit: with the model's analysis for
    // these plan settings at hand that is cheap enough for the GUI thread.
    const plan::Plan plan = makePlan();
    if (m_analysis && m_analysis->fits(plan)) {
        const plan::ValidationReport validation =
            plan::validatePlan(*m_model->graph, plan, plan::ValidateOptions{}, *m_analysis);
        m_report = placementReport(*m_model, m_devices, m_deviceOf, &validation);
        if (!m_deviceOf.empty())
            emit dataChanged(index(0, ProblemColumn), index(rowCount() - 1, ProblemColumn));
        emit placementChanged();
        emit validated();
        return;
    }
    m_report = placementReport(*m_model, m_devices, m_deviceOf, nullptr);
    emit placementChanged();
    startAnalysis(plan);
}

void PlacementModel::startAnalysis(const plan::Plan &plan)
{
    // One analysis per (model, batch, micro-batches, dims); a newer request
    // supersedes the one in flight, whose result is then dropped.
    if (m_analysisPending && m_analysisPending->fits(plan))
        return;
    auto pending = std::make_shared<plan::PlanAnalysis>();
    pending->batch = plan.batch;
    pending->microbatches = plan.microbatches;
    pending->dims = plan.dims;
    m_analysisPending = pending;
    using Analysis = std::shared_ptr<const plan::PlanAnalysis>;
    m_tasks.start<Analysis>(
        tr("Analysing the model for the plan"),
        [graph = m_model->graph, plan](const ProgressFn &,
                                       const CancelToken &) -> Result<Analysis> {
            return std::make_shared<const plan::PlanAnalysis>(plan::analysePlan(*graph, plan));
        },
        this,
        [this, pending, graph = m_model->graph](Result<Analysis> analysis) {
            if (pending != m_analysisPending || !m_model || m_model->graph != graph || !analysis)
                return;
            m_analysisPending.reset();
            m_analysis = std::move(*analysis);
            recheck();
        });
}

void PlacementModel::setPlanSettings(std::int64_t batch, int microbatches)
{
    if (batch == m_batch && microbatches == m_microbatches)
        return;
    m_batch = std::max<std::int64_t>(1, batch);
    m_microbatches = std::max(1, microbatches);
    recheck();
}

void PlacementModel::setPlanDims(const std::map<std::string, std::int64_t> &dims,
                                 const QString &source)
{
    if (dims == m_planExtras.dims && source == m_planDimsSource)
        return;
    m_planDimsSource = dims.empty() ? QString() : source;
    m_planExtras.dims = dims;
    emit planDimsChanged();
    recheck();
}

plan::Plan PlacementModel::makePlan(const std::string &modelSha256) const
{
    plan::Plan plan = m_planExtras;
    plan.devices.devices.clear();
    plan.assignment.clear();
    plan.pinned.clear();
    plan.modelSha256 = modelSha256;
    plan.batch = m_batch;
    plan.microbatches = m_microbatches;
    for (const DeviceInfo &device : m_devices)
        plan.devices.devices.push_back(specFromDeviceInfo(device));
    // A loaded plan's links, for the devices still listed.
    std::erase_if(plan.devices.links, [this](const plan::LinkSpec &link) {
        return deviceIndex(QString::fromStdString(link.from)) < 0 ||
               deviceIndex(QString::fromStdString(link.to)) < 0;
    });
    for (const plan::LinkSpec &link : m_catalogueLinks) {
        if (m_planDeviceIds.count(link.from) && m_planDeviceIds.count(link.to))
            continue;
        bool explicitLink = false;
        for (const plan::LinkSpec &kept : m_planExtras.devices.links)
            explicitLink = explicitLink || (kept.from == link.from && kept.to == link.to);
        if (!explicitLink)
            plan.devices.links.push_back(link);
    }
    if (!m_model)
        return plan;
    const auto &graph = *m_model->graph;
    for (std::size_t n = 0; n < m_deviceOf.size(); ++n) {
        const std::string &name = graph.node(graph::NodeId(n)).name;
        if (m_deviceOf[n] >= 0)
            plan.assignment[name] = m_devices[m_deviceOf[n]].id.toStdString();
        if (m_pinned[n])
            plan.pinned.push_back(name);
    }
    return plan;
}

Status PlacementModel::applyPlan(const plan::Plan &plan, const QString &text)
{
    if (!m_model)
        return makeError(ErrorCode::InvalidInput, "no model is open");
    const auto &graph = *m_model->graph;
    std::vector<int> assignment(m_deviceOf.size(), -1);
    std::vector<bool> pinned(m_pinned.size(), false);
    for (const auto &[name, device] : plan.assignment) {
        const auto node = graph.findNode(name);
        if (!node)
            return makeError(ErrorCode::InvalidInput,
                             "plan assigns node '" + name + "', which is not in the model");
        const int index = deviceIndex(QString::fromStdString(device));
        if (index < 0)
            return makeError(ErrorCode::InvalidInput, "plan assigns node '" + name +
                                                          "' to device '" + device +
                                                          "', which is not in the device list");
        assignment[std::size_t(*node)] = index;
    }
    for (const std::string &name : plan.pinned) {
        const auto node = graph.findNode(name);
        if (!node)
            return makeError(ErrorCode::InvalidInput,
                             "plan pins node '" + name + "', which is not in the model");
        pinned[std::size_t(*node)] = true;
    }
    m_batch = plan.batch;
    m_microbatches = plan.microbatches;
    if (!plan.objective.empty())
        m_planExtras.objective = plan.objective;
    const nlohmann::json tensorParallel =
        plan.tensorParallel.is_array() ? plan.tensorParallel : nlohmann::json::array();
    const bool tensorChanged = tensorParallel != m_planExtras.tensorParallel &&
                               !(tensorParallel.empty() && m_planExtras.tensorParallel.empty());
    if (tensorChanged) // a planner's tensor-parallel split comes with its placement
        m_undo.push(new SplitCommand(this, assignment, pinned, tensorParallel, text));
    else if (!applyPlacement(assignment, pinned, text))
        recheck();
    return Status::success();
}

namespace {

std::string shortHash(const std::string &hash)
{
    return hash.size() > 12 ? hash.substr(0, 12) + "…" : hash;
}

} // namespace

Status PlacementModel::loadPlan(const plan::Plan &plan, const std::string &modelSha256,
                                const QString &text)
{
    if (!m_model)
        return makeError(ErrorCode::InvalidInput, "open a model before loading a plan");
    if (!plan.modelSha256.empty() && !modelSha256.empty() && plan.modelSha256 != modelSha256)
        return makeError(ErrorCode::InvalidInput, "the plan was made for the model with sha256 " +
                                                      shortHash(plan.modelSha256) +
                                                      ", but the open model's sha256 is " +
                                                      shortHash(modelSha256));
    if (plan.devices.devices.empty())
        return makeError(ErrorCode::InvalidInput, "the plan lists no devices");
    const auto &graph = *m_model->graph;
    for (const auto &[name, device] : plan.assignment) {
        if (!graph.findNode(name))
            return makeError(ErrorCode::InvalidInput,
                             "the plan assigns node '" + name + "', which is not in the model");
        if (plan.devices.indexOf(device) < 0)
            return makeError(ErrorCode::InvalidInput,
                             "the plan assigns node '" + name + "' to device '" + device +
                                 "', which is not in the plan's device list");
    }
    for (const std::string &name : plan.pinned)
        if (!graph.findNode(name))
            return makeError(ErrorCode::InvalidInput,
                             "the plan pins node '" + name + "', which is not in the model");

    // Devices: the plan's figures; colours and origins of known ids kept.
    QVector<DeviceInfo> devices;
    for (const plan::DeviceSpec &spec : plan.devices.devices) {
        const int existing = deviceIndex(QString::fromStdString(spec.id));
        DeviceInfo::Origin origin = DeviceInfo::Origin::Local;
        if (existing >= 0)
            origin = m_devices[existing].origin;
        else if (spec.id.find('/') != std::string::npos)
            origin = DeviceInfo::Origin::Remote;
        else if (spec.source.rfind("catalogue", 0) == 0)
            origin = DeviceInfo::Origin::Catalogue;
        DeviceInfo device = deviceInfoFromSpec(spec, origin);
        device.colour = existing >= 0 ? m_devices[existing].colour : deviceColour(devices.size());
        devices.push_back(device);
    }
    setDevices(devices);

    m_planExtras = plan;
    m_planDeviceIds.clear();
    for (const plan::DeviceSpec &spec : plan.devices.devices)
        m_planDeviceIds.insert(spec.id);
    m_planExtras.devices.devices.clear();
    m_planExtras.assignment.clear();
    m_planExtras.pinned.clear();
    m_planDimsSource = plan.dims.empty() ? QString() : tr("the opened plan");
    emit planDimsChanged();
    return applyPlan(plan, text);
}

int PlacementModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_deviceOf.size());
}

int PlacementModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PlacementModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const int node = index.row();
    const int device = m_deviceOf[node];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NodeColumn:
            return QString::fromStdString(m_model->graph->node(node).name);
        case DeviceColumn: {
            const QVector<int> group = tensorParallelGroup(node);
            if (group.size() > 1) {
                QStringList ids;
                for (int d : group)
                    ids << (d >= 0 ? m_devices[d].id : QStringLiteral("?"));
                return ids.join(QStringLiteral(" + "));
            }
            return device >= 0 ? m_devices[device].id : QString();
        }
        case PinnedColumn:
            return m_pinned[node] ? tr("pinned") : QString();
        case ProblemColumn:
            return std::size_t(node) < m_report.nodeProblems.size() ? m_report.nodeProblems[node]
                                                                    : QString();
        }
        break;
    case Qt::DecorationRole:
        if (index.column() == DeviceColumn && device >= 0)
            return m_devices[device].colour;
        break;
    default:
        break;
    }
    return {};
}

QVariant PlacementModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NodeColumn:
        return tr("Node");
    case DeviceColumn:
        return tr("Device");
    case PinnedColumn:
        return tr("Pinned");
    case ProblemColumn:
        return tr("Problem");
    }
    return {};
}

} // namespace sb::ui
