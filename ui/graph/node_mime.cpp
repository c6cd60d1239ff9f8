#include "ui/graph/node_mime.h"

#include <QAbstractItemView>
#include <QApplication>
#include <QDataStream>
#include <QDropEvent>
#include <QIODevice>

#include <memory>

namespace sb::ui {

QMimeData *makeNodeMimeData(const QVector<graph::NodeId> &nodes)
{
    QByteArray bytes;
    QDataStream stream(&bytes, QIODevice::WriteOnly);
    stream << qint32(nodes.size());
    for (graph::NodeId id : nodes)
        stream << qint32(id);
    auto *data = new QMimeData;
    data->setData(kNodeMimeType, bytes);
    return data;
}

QVector<graph::NodeId> nodesFromMimeData(const QMimeData *data)
{
    QVector<graph::NodeId> nodes;
    if (!data || !data->hasFormat(kNodeMimeType))
        return nodes;
    QByteArray bytes = data->data(kNodeMimeType);
    QDataStream stream(&bytes, QIODevice::ReadOnly);
    qint32 count = 0;
    stream >> count;
    if (count < 0 || count > (1 << 24))
        return nodes;
    nodes.reserve(count);
    for (qint32 i = 0; i < count && stream.status() == QDataStream::Ok; ++i) {
        qint32 id = -1;
        stream >> id;
        nodes.push_back(id);
    }
    return nodes;
}

bool simulateNodeDrop(QAbstractItemView *view, const QVector<graph::NodeId> &nodes, int row)
{
    std::unique_ptr<QMimeData> mime(makeNodeMimeData(nodes));
    const QPointF pos = view->visualRect(view->model()->index(row, 0)).center();
    QDragEnterEvent enter(pos.toPoint(), Qt::CopyAction, mime.get(), Qt::LeftButton,
                          Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &enter);
    QDragMoveEvent move(pos.toPoint(), Qt::CopyAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &move);
    if (!move.isAccepted())
        return false;
    // The device model takes the nodes but reports the drop as not moved, so
    // the drag source keeps its items: success shows in the placement.
    QDropEvent drop(pos, Qt::CopyAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &drop);
    return true;
}

} // namespace sb::ui
