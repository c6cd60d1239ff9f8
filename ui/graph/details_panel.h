// The right dock: what is selected (a node, a block, or several), with its
// op, tensors and shapes, attributes, cost, device, pin state and problems.
#pragma once

#include "ui/graph/placement_model.h"

#include <QTextBrowser>

namespace sb::ui {

class DetailsPanel : public QTextBrowser
{
    Q_OBJECT
public:
    explicit DetailsPanel(PlacementModel *placement, QWidget *parent = nullptr);
    void showNodes(const QVector<graph::NodeId> &nodes);
    const QVector<graph::NodeId> &nodes() const { return m_nodes; }

private:
    void refresh();
    QString nodeHtml(graph::NodeId node) const;
    QString summaryHtml() const;

    PlacementModel *m_placement;
    QVector<graph::NodeId> m_nodes;
};

} // namespace sb::ui
