// Painted charts the evaluation page needs beyond Qt Charts: a confusion
// matrix heatmap (cells clickable) and a bar chart with error bars and an
// optional threshold line.
#pragma once

#include <QColor>
#include <QStringList>
#include <QVector>
#include <QWidget>

namespace sb::ui {

class ConfusionHeatmap : public QWidget
{
    Q_OBJECT
public:
    explicit ConfusionHeatmap(QWidget *parent = nullptr);
    void setMatrix(const QStringList &labels, const QVector<QVector<double>> &counts);
    const QStringList &labels() const { return m_labels; }
    // Cell rectangle for (actual row, predicted column), in widget coordinates.
    QRect cellRect(int actual, int predicted) const;
    QSize sizeHint() const override { return {360, 320}; }

signals:
    void cellClicked(int actual, int predicted);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;

private:
    QRect gridRect() const;
    QStringList m_labels;
    QVector<QVector<double>> m_counts;
};

struct BarDatum
{
    QString label;
    double value = 0;
    double low = qQNaN(); // error bar, NaN when none
    double high = qQNaN();
    bool flagged = false; // drawn in the alert colour (drifted, weak)
    QString tooltip;
};

class BarChartWidget : public QWidget
{
    Q_OBJECT
public:
    explicit BarChartWidget(const QString &title, QWidget *parent = nullptr);
    void setData(const QVector<BarDatum> &bars, const QString &valueLabel,
                 double threshold = qQNaN(), double fixedMax = qQNaN());
    const QVector<BarDatum> &bars() const { return m_bars; }
    QSize sizeHint() const override { return {480, 260}; }

signals:
    void barClicked(int index);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    bool event(QEvent *event) override;

private:
    QRectF barRect(int index) const;
    // How category labels fit under the bars: horizontal when they fit,
    // slanted (-40 degrees, ending at the tick), else vertical and, when even
    // those collide, every `step`-th label (the tooltip names every bar).
    struct LabelLayout
    {
        double angle = 0;
        int step = 1;
        int elideWidth = 0;
        int bottomMargin = 0;
    };
    LabelLayout labelLayout() const;
    QRect plotRect() const;
    double maxValue() const;

    QString m_title;
    QString m_valueLabel;
    QVector<BarDatum> m_bars;
    double m_threshold = qQNaN();
    double m_fixedMax = qQNaN();
};

} // namespace sb::ui
