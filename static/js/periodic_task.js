// The periodic task form (templates/admin/djcelery/change_periodictask_form.html): show what the
// chosen crontab means under its field, as django-celery-beat's own inline script did.
(function () {
  var $ = window.django && window.django.jQuery;
  var crontabs = document.getElementById("readable-crontabs");
  var help = document.getElementById("crontab-help");
  if (!$ || !crontabs || !help) return;
  var readable = JSON.parse(crontabs.textContent);
  var original = JSON.parse(help.textContent);
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    var box = $(".field-crontab .help");
    box.text(original);
    box.append(document.createElement("br"));
    box.append(document.createTextNode("Translation: " + (readable[$("#id_crontab").val()] || "")));
  });
})();
