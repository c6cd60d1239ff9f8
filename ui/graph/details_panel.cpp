#include "ui/graph/details_panel.h"

#include <QLocale>

#include <map>
#include <set>

namespace sb::ui {

namespace {

QString attributeText(const graph::Attribute &a)
{
    using K = graph::Attribute::Kind;
    auto join = [](const auto &values) {
        QStringList parts;
        for (const auto &v : values)
            parts << QString::number(v);
        if (parts.size() > 8)
            parts = parts.mid(0, 8) << QStringLiteral("…");
        return "[" + parts.join(", ") + "]";
    };
    switch (a.kind) {
    case K::Float:
        return QString::number(a.f);
    case K::Int:
        return QString::number(a.i);
    case K::String:
        return QString::fromStdString(a.s).toHtmlEscaped();
    case K::Floats:
        return join(a.floats);
    case K::Ints:
        return join(a.ints);
    case K::Strings:
        return QStringLiteral("%1 strings").arg(a.strings.size());
    case K::Tensor:
        return QStringLiteral("tensor");
    case K::Graph:
    case K::Graphs:
        return QStringLiteral("subgraph");
    default:
        return QStringLiteral("—");
    }
}

} // namespace

DetailsPanel::DetailsPanel(PlacementModel *placement, QWidget *parent)
    : QTextBrowser(parent), m_placement(placement)
{
    setOpenLinks(false);
    connect(placement, &PlacementModel::placementChanged, this, &DetailsPanel::refresh);
    connect(placement, &QAbstractItemModel::modelReset, this, [this]() { showNodes({}); });
    refresh();
}

void DetailsPanel::showNodes(const QVector<graph::NodeId> &nodes)
{
    m_nodes = nodes;
    refresh();
}

void DetailsPanel::refresh()
{
    const auto &model = m_placement->modelData();
    if (!model) {
        setHtml(tr("<p style='color:gray'>No model loaded.</p>"));
        return;
    }
    if (m_nodes.isEmpty()) {
        setHtml(summaryHtml());
        return;
    }
    if (m_nodes.size() == 1) {
        setHtml(nodeHtml(m_nodes.front()));
        return;
    }
    // Several nodes (a block or a selection): totals and the devices used.
    cost::Cost total;
    std::set<int> devices;
    int pinned = 0;
    for (graph::NodeId n : m_nodes) {
        total += model->cost.nodes[std::size_t(n)];
        devices.insert(m_placement->deviceOf(n));
        pinned += m_placement->isPinned(n) ? 1 : 0;
    }
    const int group = model->groupOfNode[std::size_t(m_nodes.front())];
    bool wholeGroup = int(model->groups[std::size_t(group)].size()) == m_nodes.size();
    QString html =
        QStringLiteral("<h3>%1</h3>")
            .arg(wholeGroup
                     ? QString::fromStdString(model->groupNames[std::size_t(group)]).toHtmlEscaped()
                     : tr("%n nodes selected", nullptr, int(m_nodes.size())));
    QStringList deviceNames;
    for (int d : devices)
        deviceNames << (d >= 0 ? m_placement->devices()[d].id : tr("unassigned"));
    html += "<table cellspacing=4>";
    html += tr("<tr><td>Nodes</td><td>%1</td></tr>").arg(m_nodes.size());
    html += tr("<tr><td>Devices</td><td>%1</td></tr>").arg(deviceNames.join(", "));
    html += tr("<tr><td>Pinned</td><td>%1</td></tr>").arg(pinned);
    // Like the summary: the import's figure leaves out what depends on
    // unbound symbolic dims, so say so instead of showing a tiny number bare.
    const QStringList unbound = model->unboundSymbols({});
    QString flopsNote;
    if (!total.exact)
        flopsNote = unbound.isEmpty() ? tr(" (estimate)")
                                      : tr(" (at batch 1, without the nodes that depend on %1)")
                                            .arg(unbound.join(", ").toHtmlEscaped());
    html += tr("<tr><td>FLOPs</td><td>%1%2</td></tr>").arg(formatFlops(total.flops), flopsNote);
    html += tr("<tr><td>Weights</td><td>%1 (%2 params)</td></tr>")
                .arg(formatBytes(double(total.paramBytes)))
                .arg(QLocale().toString(qulonglong(total.paramCount)));
    html += tr("<tr><td>Activations</td><td>%1</td></tr>")
                .arg(formatBytes(double(total.activationBytes)));
    html += "</table><h4>" + tr("Ops") + "</h4><p>";
    std::map<std::string, int> ops;
    for (graph::NodeId n : m_nodes)
        ++ops[model->graph->node(n).opType];
    QStringList opText;
    for (const auto &[op, count] : ops)
        opText << QStringLiteral("%1 × %2").arg(QString::fromStdString(op)).arg(count);
    html += opText.join(", ") + "</p>";
    setHtml(html);
}

QString DetailsPanel::summaryHtml() const
{
    const auto &model = *m_placement->modelData();
    const auto &graph = *model.graph;
    QString html =
        QStringLiteral("<h3>%1</h3>")
            .arg(QString::fromStdString(graph.graphName.empty() ? "model" : graph.graphName)
                     .toHtmlEscaped());
    html += "<table cellspacing=4>";
    html += tr("<tr><td>File</td><td>%1</td></tr>").arg(model.path.toHtmlEscaped());
    html += tr("<tr><td>Producer</td><td>%1 %2</td></tr>")
                .arg(QString::fromStdString(graph.producerName),
                     QString::fromStdString(graph.producerVersion));
    html += tr("<tr><td>Nodes</td><td>%1 in %2 blocks</td></tr>")
                .arg(model.nodeCount())
                .arg(model.groups.size());
    html += tr("<tr><td>Parameters</td><td>%1 (%2)</td></tr>")
                .arg(QLocale().toString(qulonglong(graph.parameterCount())),
                     formatBytes(double(graph.parameterBytes())));
    // Symbolic input dims the GUI's cost does not bind (it binds the batch
    // only): FLOPs of nodes that depend on them are not counted.
    const QStringList unbound = model.unboundSymbols({});
    QString flopsNote;
    if (!unbound.isEmpty()) {
        // This figure is the import's (batch 1); the devices panel's dims
        // only reach the validator's and the planner's estimates.
        flopsNote = tr(" (at batch 1, without the nodes that depend on %1")
                        .arg(unbound.join(", ").toHtmlEscaped());
        QStringList bound;
        for (const auto &[symbol, size] : m_placement->planDims())
            bound << QStringLiteral("%1=%2").arg(QString::fromStdString(symbol)).arg(size);
        flopsNote +=
            bound.isEmpty()
                ? tr("; bind them in the devices panel for the estimates)")
                : tr("; the plan's estimates use %1)").arg(bound.join(", ").toHtmlEscaped());
    } else if (!model.cost.total.exact) {
        flopsNote = tr(" (estimate)");
    }
    html += tr("<tr><td>FLOPs / micro-batch</td><td>%1%2</td></tr>")
                .arg(formatFlops(model.cost.total.flops), flopsNote);
    html += "</table><p style='color:gray'>" +
            tr("Select a node or block to see its details. Drag it onto a device to place it.") +
            "</p>";
    return html;
}

QString DetailsPanel::nodeHtml(graph::NodeId id) const
{
    const auto &model = *m_placement->modelData();
    const auto &graph = *model.graph;
    const auto &node = graph.node(id);
    const auto &cost = model.cost.nodes[std::size_t(id)];
    const int device = m_placement->deviceOf(id);
    QString html = QStringLiteral("<h3>%1</h3><p><b>%2</b>%3</p>")
                       .arg(QString::fromStdString(node.name).toHtmlEscaped(),
                            QString::fromStdString(node.opType),
                            node.domain.empty() ? QString()
                                                : " (" + QString::fromStdString(node.domain) + ")");
    html += "<table cellspacing=4>";
    html += tr("<tr><td>Device</td><td>%1%2</td></tr>")
                .arg(device >= 0 ? m_placement->devices()[device].id : tr("unassigned"),
                     m_placement->isPinned(id) ? tr(" (pinned)") : QString());
    html += tr("<tr><td>Block</td><td>%1</td></tr>")
                .arg(QString::fromStdString(model.groupNames[std::size_t(model.groupOfNode[id])])
                         .toHtmlEscaped());
    html += tr("<tr><td>FLOPs</td><td>%1%2</td></tr>")
                .arg(formatFlops(cost.flops), cost.exact ? QString() : tr(" (estimate)"));
    html += tr("<tr><td>Weights</td><td>%1</td></tr>").arg(formatBytes(double(cost.paramBytes)));
    html += tr("<tr><td>Activations</td><td>%1</td></tr>")
                .arg(formatBytes(double(cost.activationBytes)));
    if (std::size_t(id) < model.predicted.size()) {
        // The cost model: the kernel the engine runs for it, its rate class and source.
        const plan::NodePrediction &predicted = model.predicted[std::size_t(id)];
        html += tr("<tr><td>Predicted time</td><td>%1 ms (batch %2, one CPU device of %3 "
                   "thread(s))</td></tr>")
                    .arg(predicted.seconds * 1e3, 0, 'f', 4)
                    .arg(model.bindings.batch.value_or(1))
                    .arg(model.predictedThreads);
        html +=
            tr("<tr><td>Rate</td><td>%1%2</td></tr>")
                .arg(QString::fromStdString(predicted.rateClass).toHtmlEscaped(),
                     predicted.rateSource.empty()
                         ? QString()
                         : " — " + QString::fromStdString(predicted.rateSource).toHtmlEscaped());
    }
    html += "</table>";
    const auto &problems = m_placement->report().nodeProblems;
    if (std::size_t(id) < problems.size() && !problems[id].isEmpty())
        html += "<p style='color:#d03030'>⚠ " + problems[id].toHtmlEscaped() + "</p>";
    auto tensorRows = [&](const std::vector<graph::ValueId> &values) {
        QString rows;
        for (graph::ValueId v : values) {
            if (v == graph::kNoValue)
                continue;
            const auto &value = graph.value(v);
            rows += QStringLiteral("<tr><td>%1</td><td>%2 %3</td></tr>")
                        .arg(QString::fromStdString(value.name).toHtmlEscaped(),
                             graph::elementTypeName(value.info.type),
                             QString::fromStdString(value.info.shape.toString()));
        }
        return rows;
    };
    html +=
        "<h4>" + tr("Inputs") + "</h4><table cellspacing=3>" + tensorRows(node.inputs) + "</table>";
    html += "<h4>" + tr("Outputs") + "</h4><table cellspacing=3>" + tensorRows(node.outputs) +
            "</table>";
    if (!node.attributes.empty()) {
        html += "<h4>" + tr("Attributes") + "</h4><table cellspacing=3>";
        for (const auto &[name, attribute] : node.attributes)
            html += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>")
                        .arg(QString::fromStdString(name), attributeText(attribute));
        html += "</table>";
    }
    return html;
}

} // namespace sb::ui
