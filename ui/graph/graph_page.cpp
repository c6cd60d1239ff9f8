#include "ui/graph/graph_page.h"

#include "ui/common/user_message.h"
#include "ui/devices/device_list_model.h"
#include "ui/graph/device_lanes.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QScrollArea>
#include <QScrollBar>
#include <QShortcut>
#include <QToolButton>
#include <QVBoxLayout>

namespace sb::ui {

GraphPage::GraphPage(PlacementModel *placement, TaskRunner *tasks, QWidget *parent)
    : QWidget(parent), m_placement(placement), m_tasks(tasks)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    m_searchBar = new QWidget(this);
    auto *searchLayout = new QHBoxLayout(m_searchBar);
    searchLayout->setContentsMargins(6, 4, 6, 4);
    m_searchEdit = new QLineEdit(m_searchBar);
    m_searchEdit->setPlaceholderText(tr("Find node by name, op type or shape (Enter: next)"));
    m_searchEdit->setClearButtonEnabled(true);
    m_searchStatus = new QLabel(m_searchBar);
    auto *close = new QToolButton(m_searchBar);
    close->setText(QStringLiteral("✕"));
    close->setAutoRaise(true);
    searchLayout->addWidget(new QLabel(tr("Find:"), m_searchBar));
    searchLayout->addWidget(m_searchEdit, 1);
    searchLayout->addWidget(m_searchStatus);
    searchLayout->addWidget(close);
    m_searchBar->hide();
    layout->addWidget(m_searchBar);

    auto *canvas = new QHBoxLayout;
    canvas->setContentsMargins(0, 0, 0, 0);
    canvas->setSpacing(0);
    m_view = new GraphView(this);
    canvas->addWidget(m_view, 1);
    // The lanes scroll when there are more devices than fit the height.
    m_laneModel = new DeviceListModel(placement, this);
    m_lanes = new DeviceLanes(m_laneModel);
    m_lanesArea = new QScrollArea(this);
    m_lanesArea->setWidget(m_lanes);
    m_lanesArea->setWidgetResizable(true);
    m_lanesArea->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_lanesArea->setFrameShape(QFrame::NoFrame);
    m_lanesArea->setFixedWidth(m_lanes->sizeHint().width() +
                               m_lanesArea->verticalScrollBar()->sizeHint().width());
    canvas->addWidget(m_lanesArea);
    layout->addLayout(canvas, 1);
    m_hint = new QLabel(tr("Open a model (File ▸ Open Model…) or load the demo model."), m_view);
    m_hint->setAlignment(Qt::AlignCenter);
    m_hint->setForegroundRole(QPalette::PlaceholderText);

    connect(m_searchEdit, &QLineEdit::textChanged, this,
            [this](const QString &text) { find(text); });
    connect(m_searchEdit, &QLineEdit::returnPressed, this, &GraphPage::findNext);
    connect(close, &QToolButton::clicked, this, [this]() {
        m_searchBar->hide();
        if (m_scene)
            m_scene->setHighlighted({});
    });
    auto *escape = new QShortcut(QKeySequence(Qt::Key_Escape), m_searchBar);
    escape->setContext(Qt::WidgetWithChildrenShortcut);
    connect(escape, &QShortcut::activated, close, &QToolButton::click);
}

void GraphPage::setLanesVisible(bool visible)
{
    m_lanesArea->setVisible(visible);
}

bool GraphPage::lanesVisible() const
{
    return !m_lanesArea->isHidden();
}

void GraphPage::reloadModel()
{
    const auto &model = m_placement->modelData();
    m_expanded.assign(model ? model->groups.size() : 0, false);
    m_matches.clear();
    m_scene.reset();
    m_view->setGraphScene(nullptr);
    m_hint->setVisible(!model);
    if (model)
        startLayout();
}

void GraphPage::toggleGroup(int group)
{
    if (group < 0 || std::size_t(group) >= m_expanded.size())
        return;
    m_expanded[std::size_t(group)] = !m_expanded[std::size_t(group)];
    startLayout();
}

void GraphPage::setAllExpanded(bool expanded)
{
    std::fill(m_expanded.begin(), m_expanded.end(), expanded);
    startLayout();
}

bool GraphPage::isExpanded(int group) const
{
    return group >= 0 && std::size_t(group) < m_expanded.size() && m_expanded[std::size_t(group)];
}

void GraphPage::startLayout()
{
    const auto model = m_placement->modelData();
    if (!model)
        return;
    const int generation = ++m_layoutGeneration;
    ++m_pendingLayout;
    m_tasks->start<LayoutResult>(
        tr("Laying out graph"),
        [model, expanded = m_expanded](const ProgressFn &progress, const CancelToken &cancel) {
            progress(0.1, "Laying out graph");
            return computeLayout(model, expanded, cancel);
        },
        this,
        [this, generation](Result<LayoutResult> result) {
            --m_pendingLayout;
            if (generation != m_layoutGeneration)
                return; // superseded by a newer layout
            if (!result.ok()) {
                if (result.error().code != ErrorCode::Cancelled)
                    emit errorOccurred(userMessage(tr("Graph layout"), result.error()));
                return;
            }
            if (result->model != m_placement->modelData())
                return;
            installScene(std::move(result).value());
        });
}

void GraphPage::installScene(LayoutResult layout)
{
    const double seconds = layout.seconds;
    const int items = int(layout.items.size());
    // Keep the view centred on the same region when re-laying out.
    const bool first = !m_scene;
    const QPointF centre = m_view->mapToScene(m_view->viewport()->rect().center());
    const QVector<graph::NodeId> previouslySelected =
        m_scene ? m_scene->selectedNodes() : QVector<graph::NodeId>{};
    auto scene = std::make_unique<GraphScene>(std::move(layout), m_placement);
    connect(scene.get(), &GraphScene::toggleGroupRequested, this, &GraphPage::toggleGroup);
    connect(scene.get(), &QGraphicsScene::selectionChanged, this, [this]() {
        if (m_scene)
            emit selectionChanged(m_scene->selectedNodes());
    });
    m_view->setGraphScene(scene.get());
    m_scene = std::move(scene);
    m_hint->hide();
    if (first)
        m_view->zoomToFit();
    else
        m_view->centerOn(centre);
    const QVector<graph::NodeId> select =
        m_pendingSelection.isEmpty() ? previouslySelected : m_pendingSelection;
    m_pendingSelection.clear();
    if (!select.isEmpty())
        selectNodes(select);
    emit layoutFinished(seconds, items);
}

void GraphPage::showSearch()
{
    m_searchBar->show();
    m_searchEdit->setFocus();
    m_searchEdit->selectAll();
}

bool GraphPage::isSearchVisible() const
{
    return !m_searchBar->isHidden();
}

int GraphPage::find(const QString &text)
{
    m_matches.clear();
    m_matchIndex = -1;
    const auto &model = m_placement->modelData();
    const QString needle = text.trimmed().toLower();
    if (!model || needle.isEmpty()) {
        m_searchStatus->clear();
        if (m_scene)
            m_scene->setHighlighted({});
        return 0;
    }
    const auto &graph = *model->graph;
    for (int n = 0; n < model->nodeCount(); ++n) {
        const auto &node = graph.node(n);
        if (QString::fromStdString(node.name).toLower().contains(needle) ||
            QString::fromStdString(node.opType).toLower().contains(needle) ||
            model->shapeText(n).toLower().contains(needle))
            m_matches.push_back(n);
    }
    m_searchStatus->setText(
        m_matches.isEmpty() ? tr("no match") : tr("%n match(es)", nullptr, int(m_matches.size())));
    if (m_scene) {
        QVector<int> items;
        for (graph::NodeId n : m_matches)
            items.push_back(m_scene->layout().itemOfNode[std::size_t(n)]);
        m_scene->setHighlighted(items);
    }
    if (!m_matches.isEmpty())
        showMatch(0);
    return int(m_matches.size());
}

void GraphPage::findNext()
{
    if (m_matches.isEmpty())
        return;
    showMatch((m_matchIndex + 1) % int(m_matches.size()));
}

void GraphPage::showMatch(int index)
{
    m_matchIndex = index;
    m_searchStatus->setText(tr("%1 of %2").arg(index + 1).arg(m_matches.size()));
    if (!m_scene)
        return;
    if (GraphBoxItem *box = m_scene->boxForNode(m_matches[index])) {
        m_view->centerOn(box);
    }
}

void GraphPage::selectNodes(const QVector<graph::NodeId> &nodes)
{
    if (!m_scene) {
        m_pendingSelection = nodes;
        return;
    }
    const QSignalBlocker blocker(m_scene.get());
    m_scene->clearSelection();
    GraphBoxItem *first = nullptr;
    for (graph::NodeId n : nodes)
        if (GraphBoxItem *box = m_scene->boxForNode(n)) {
            box->setSelected(true);
            if (!first)
                first = box;
        }
    if (first)
        m_view->ensureVisible(first, 60, 60);
}

} // namespace sb::ui
