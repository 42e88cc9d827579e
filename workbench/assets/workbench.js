/* The workbench map's own functions (no third-party code): the geometry of units and sites is
   drawn once; an edit sends a small style map and only the features whose style changed are
   restyled (layer.setStyle), so the page never redraws the whole map. */
window.workbench = (function () {
    var reg = {version: null, units: {}, sites: {}};
    var current = {units: {}, highlight: {}, hubs: {}, forced: {}, selected: null, seq: -1};
    var GREY = "#9E9E9E";

    function register(kind, feature, layer) {
        var v = feature.properties.v;
        if (reg.version !== v) {
            reg = {version: v, units: {}, sites: {}};
        }
        reg[kind][feature.properties.id] = layer;
    }

    function unitStyle(id, polygon) {
        var colour = current.units[id] || GREY;
        var hot = current.highlight[id] === true;
        var chosen = current.selected === id;
        if (polygon) {
            return {color: hot ? "#D00000" : (chosen ? "#000000" : "#444444"),
                    weight: hot ? 3 : (chosen ? 3 : 0.5), fillColor: colour, fillOpacity: 0.55,
                    dashArray: null};
        }
        return {radius: chosen ? 9 : 6, color: hot ? "#D00000" : (chosen ? "#000000" : "#222222"),
                weight: hot ? 3 : (chosen ? 3 : 1), fillColor: colour, fillOpacity: 0.95};
    }

    function siteStyle(id) {
        var hub = current.hubs[id];
        var forced = current.forced[id];
        var hot = current.highlight[id] === true;
        var chosen = current.selected === id;
        var style = hub
            ? {radius: 10, color: hot ? "#D00000" : "#111111", weight: hot ? 4 : 2.5, fillColor: hub[0],
               fillOpacity: 1, dashArray: null}
            : {radius: 5, color: "#555555", weight: 1.5, fillColor: "#FFFFFF", fillOpacity: 0.8, dashArray: "3 2"};
        if (forced === "open") { style.color = "#006400"; style.weight = 4; style.dashArray = null; }
        if (forced === "closed") { style.color = "#8B0000"; style.weight = 3; style.dashArray = "2 2"; }
        if (chosen) { style.color = "#000000"; style.weight = 4; }
        return style;
    }

    function isPolygon(layer) { return !(layer instanceof L.CircleMarker); }

    function key(style) { return JSON.stringify(style); }

    /* Leaflet renders a tooltip string as HTML: every string from data goes in as text instead. */
    function textTooltip(text) {
        var span = document.createElement("span");
        span.textContent = text;
        return span;
    }

    return {
        unitToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, Object.assign(unitStyle(feature.properties.id, false),
                                  {className: "wb-unit wb-unit-" + feature.properties.id}));
        },
        siteToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, Object.assign(siteStyle(feature.properties.id),
                                  {className: "wb-site wb-site-" + feature.properties.id}));
        },
        unitStyle: function (feature) { return unitStyle(feature.properties.id, true); },
        outlineStyle: function (feature) {
            return {color: "#222222", weight: 2, fillColor: feature.properties.colour, fillOpacity: 0.18};
        },
        onEachUnit: function (feature, layer) {
            register("units", feature, layer);
            layer.bindTooltip(textTooltip(feature.properties.name + " (" + feature.properties.id + ")"));
        },
        onEachSite: function (feature, layer) {
            register("sites", feature, layer);
            layer.bindTooltip(textTooltip(feature.properties.name + " (" + feature.properties.id + ", " +
                                          feature.properties.site_type + " site)"));
        },
        onEachOutline: function (feature, layer) {
            layer.bindTooltip(textTooltip(feature.properties.polysystem + ": " +
                              Math.round(feature.properties.population).toLocaleString("en-GB") + " people"));
        },
        /* Restyle what changed; returns the number of features restyled. */
        apply: function (data) {
            if (!data) { return 0; }
            var previous = {};
            var id;
            for (id in reg.units) { previous["u" + id] = key(unitStyle(id, isPolygon(reg.units[id]))); }
            for (id in reg.sites) { previous["s" + id] = key(siteStyle(id)); }
            var highlight = {};
            (data.highlight || []).forEach(function (h) { highlight[h] = true; });
            current = {units: data.units || {}, highlight: highlight, hubs: data.hubs || {},
                       forced: data.forced || {}, selected: data.selected, seq: data.seq};
            var changed = 0;
            for (id in reg.units) {
                var style = unitStyle(id, isPolygon(reg.units[id]));
                if (key(style) !== previous["u" + id]) {
                    reg.units[id].setStyle(style);
                    if (style.radius !== undefined) { reg.units[id].setRadius(style.radius); }
                    if (highlight[id] || data.selected === id) { reg.units[id].bringToFront(); }
                    changed += 1;
                }
            }
            for (id in reg.sites) {
                var s = siteStyle(id);
                if (key(s) !== previous["s" + id]) {
                    reg.sites[id].setStyle(s);
                    reg.sites[id].setRadius(s.radius);
                    changed += 1;
                }
            }
            return changed;
        }
    };
})();

window.dash_clientside = Object.assign({}, window.dash_clientside, {
    workbench: {
        apply: function (data) {
            var changed = window.workbench.apply(data);
            return [data ? String(data.seq) : "", String(changed)];
        }
    }
});
