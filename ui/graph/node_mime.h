// The drag-and-drop payload for graph nodes: a list of NodeIds. Dragged from
// the graph view and the graph tree, dropped on devices.
#pragma once

#include "core/graph/graph.h"

#include <QByteArray>
#include <QMimeData>
#include <QVector>

class QAbstractItemView;

namespace sb::ui {

inline constexpr const char *kNodeMimeType = "application/x-shardbench-nodes";

QMimeData *makeNodeMimeData(const QVector<graph::NodeId> &nodes);
// Empty when the data holds no node list.
QVector<graph::NodeId> nodesFromMimeData(const QMimeData *data);

// What a drag of `nodes` from the graph ending on row `row` of `view` sends:
// drag-enter, drag-move and, when the view accepts the move, the drop (for
// the screenshot walk and tests; a real QDrag cannot run offscreen). False
// when the view refused the drag.
bool simulateNodeDrop(QAbstractItemView *view, const QVector<graph::NodeId> &nodes, int row);

} // namespace sb::ui
