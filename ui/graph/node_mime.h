// The drag-and-drop payload for graph nodes: a list of NodeIds. Dragged from
// the graph view and the graph tree, dropped on devices.
#pragma once

#include "core/graph/graph.h"

#include <QByteArray>
#include <QMimeData>
#include <QVector>

namespace sb::ui {

inline constexpr const char *kNodeMimeType = "application/x-shardbench-nodes";

QMimeData *makeNodeMimeData(const QVector<graph::NodeId> &nodes);
// Empty when the data holds no node list.
QVector<graph::NodeId> nodesFromMimeData(const QMimeData *data);

} // namespace sb::ui
