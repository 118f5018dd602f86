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
  var notReportingIcon = L.icon({
    iconUrl: element.dataset.notReportingIcon,
    iconSize: [25, 41], iconAnchor: [12, 41], popupAnchor: [1, -34],
    className: "marker-not-reporting"
  });

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
    if (feature.properties.not_reporting) {
      var silent = document.createElement("p");
      silent.textContent = feature.properties.not_reporting + ".";
      box.appendChild(silent);
    }
    return box;
  }

  // "Near me": the browser's location, or a place selected on the map, lists the sensors
  // around it, nearest first (the list itself works without JavaScript).
  function listNear(latitude, longitude) {
    var url = new URL(window.location.href);
    url.searchParams.set("near", latitude.toFixed(5) + "," + longitude.toFixed(5));
    url.searchParams.delete("page");
    // A comma is allowed in a query string, and "near=51.5,-0.1" is easier to read and share.
    window.location.assign(url.toString().replace(/%2C/gi, ","));
  }
  map.on("click", function (event) { listNear(event.latlng.lat, event.latlng.lng); });
  var button = document.getElementById("near-me");
  var status = document.getElementById("near-me-status");
  if (button && navigator.geolocation) {
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "Finding where you are…";
      navigator.geolocation.getCurrentPosition(
        function (position) { listNear(position.coords.latitude, position.coords.longitude); },
        function () {
          status.textContent = "Your browser did not share your location; select a place on the map instead.";
        },
        { timeout: 10000 }
      );
    });
  }

  fetch(element.dataset.geojson)
    .then(function (answer) { return answer.json(); })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        pointToLayer: function (feature, latlng) {
          var label = feature.properties.name + ", " + feature.properties.place;
          if (feature.properties.not_reporting) {
            // Not reporting: a marker of another shape, and the words in its label.
            label += " (not reporting)";
            return L.marker(latlng, { title: label, alt: label, icon: notReportingIcon });
          }
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
