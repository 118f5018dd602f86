/* The home page's map: every listed sensor as a clustered marker, each linking to its page.
   Markers come from the list's own GeoJSON twin (same filters), served by this site; only the
   background tiles come from elsewhere, so with no network the markers still show. */
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.L) { return; }
  var map = L.map(element, { scrollWheelZoom: false }).setView([51.507, -0.128], 10);
  L.tileLayer(element.dataset.tiles, {
    attribution: element.dataset.attribution, maxZoom: 19
  }).addTo(map);
  // No animation: markers settle at once (and overlapping in-between icons never exist).
  var clusters = L.markerClusterGroup({ chunkedLoading: true, animate: false });

  function popup(feature) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = feature.properties.url;
    link.textContent = feature.properties.name;
    box.appendChild(link);
    box.appendChild(document.createTextNode(", " + feature.properties.place));
    if (feature.properties.personal_data) {
      var note = document.createElement("strong");
      note.textContent = " (personal data)";
      box.appendChild(note);
    }
    return box;
  }

  fetch(element.dataset.geojson)
    .then(function (answer) { return answer.json(); })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        pointToLayer: function (feature, latlng) {
          var label = feature.properties.name + ", " + feature.properties.place;
          return L.marker(latlng, { title: label, alt: label });
        },
        onEachFeature: function (feature, marker) { marker.bindPopup(popup(feature)); }
      });
      clusters.addLayer(layer);
      map.addLayer(clusters);
      if (collection.features.length) {
        map.fitBounds(clusters.getBounds(), { maxZoom: 16, padding: [20, 20], animate: false });
      }
      element.dataset.markers = String(collection.features.length);
    })
    .catch(function () {
      element.dataset.markers = "error";
    });
}());
